import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TopicTree } from '../../src/topic/index.js';

function matched<T>(tree: TopicTree<T>, filter: string): string[] {
  const topics: string[] = [];
  tree.matchFilter(filter, (topic) => topics.push(topic));
  return topics.sort();
}

const TOPICS = [
  'sport',
  'sport/',
  'sport/tennis',
  'sport/tennis/player1',
  'sport/tennis/player1/ranking',
  'sport/tennis/player2',
  'sport/golf/player1',
  '/finance',
  'finance',
  '/',
  'a//b',
  '$SYS/monitor/Clients',
  '$SYS',
  'a/$x',
];

function filled(): TopicTree<string> {
  const tree = new TopicTree<string>();
  for (const t of TOPICS) tree.set(t, `v:${t}`);
  return tree;
}

describe('TopicTree', () => {
  test('set, get, replace, delete and size', () => {
    const tree = filled();
    assert.equal(tree.size, TOPICS.length);
    assert.equal(tree.get('sport/tennis'), 'v:sport/tennis');
    assert.equal(tree.get('sport/tennis/player3'), undefined);
    assert.equal(tree.get('sport/golf'), undefined); // a path node without a value
    tree.set('sport/tennis', 'again');
    assert.equal(tree.size, TOPICS.length);
    assert.equal(tree.get('sport/tennis'), 'again');
    assert.equal(tree.delete('sport/golf'), false);
    assert.equal(tree.delete('nope/x'), false);
    assert.equal(tree.delete('sport/tennis'), true);
    assert.equal(tree.delete('sport/tennis'), false);
    assert.equal(tree.get('sport/tennis'), undefined);
    assert.equal(tree.get('sport/tennis/player1'), 'v:sport/tennis/player1');
    assert.equal(tree.size, TOPICS.length - 1);
  });

  test('delete prunes empty nodes', () => {
    const tree = new TopicTree<number>();
    tree.set('a/b/c/d', 1);
    tree.set('a/x', 2);
    tree.delete('a/b/c/d');
    const root = (tree as unknown as { root: { child(l: string): unknown } }).root;
    const a = root.child('a') as { child(l: string): unknown };
    assert.equal(a.child('b'), undefined);
    assert.notEqual(a.child('x'), undefined);
    tree.delete('a/x');
    assert.equal(root.child('a'), undefined);
    assert.equal(tree.size, 0);
    assert.deepEqual([...tree.entries()], []);
  });

  test('entries lists every stored topic once', () => {
    const tree = filled();
    const all = [...tree.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    assert.deepEqual(
      all,
      [...TOPICS].sort().map((t) => [t, `v:${t}`]),
    );
  });

  test("matchFilter with '#' includes the parent level", () => {
    const tree = filled();
    assert.deepEqual(matched(tree, 'sport/tennis/player1/#'), [
      'sport/tennis/player1',
      'sport/tennis/player1/ranking',
    ]);
    assert.deepEqual(matched(tree, 'sport/#'), [
      'sport',
      'sport/',
      'sport/golf/player1',
      'sport/tennis',
      'sport/tennis/player1',
      'sport/tennis/player1/ranking',
      'sport/tennis/player2',
    ]);
  });

  test("matchFilter with '+' matches exactly one level", () => {
    const tree = filled();
    assert.deepEqual(matched(tree, 'sport/tennis/+'), [
      'sport/tennis/player1',
      'sport/tennis/player2',
    ]);
    assert.deepEqual(matched(tree, 'sport/+'), ['sport/', 'sport/tennis']);
    assert.deepEqual(matched(tree, '+/+'), ['/', '/finance', 'a/$x', 'sport/', 'sport/tennis']);
    assert.deepEqual(matched(tree, '/+'), ['/', '/finance']);
    assert.deepEqual(matched(tree, '+'), ['finance', 'sport']);
    assert.deepEqual(matched(tree, 'a/+/b'), ['a//b']);
    assert.deepEqual(matched(tree, '+/+/player1'), ['sport/golf/player1', 'sport/tennis/player1']);
  });

  test("matchFilter: leading wildcards skip '$' topics [MQTT-4.7.2-1]", () => {
    const tree = filled();
    const all = matched(tree, '#');
    assert.equal(all.length, TOPICS.length - 2);
    assert.ok(!all.some((t) => t.startsWith('$')));
    assert.deepEqual(matched(tree, '+/monitor/Clients'), []);
    assert.deepEqual(matched(tree, '$SYS/#'), ['$SYS', '$SYS/monitor/Clients']);
    assert.deepEqual(matched(tree, '$SYS/monitor/+'), ['$SYS/monitor/Clients']);
    assert.deepEqual(matched(tree, 'a/+'), ['a/$x']);
  });

  test('matchFilter with an exact filter finds one topic or none', () => {
    const tree = filled();
    assert.deepEqual(matched(tree, 'sport/tennis'), ['sport/tennis']);
    assert.deepEqual(matched(tree, 'sport/golf'), []);
    assert.deepEqual(matched(tree, 'Sport'), []);
  });

  test("matchFilter walks only matching branches for 'a/b/+'", () => {
    const tree = new TopicTree<number>();
    for (let i = 0; i < 100; i++) tree.set(`other/${i}/x`, i);
    tree.set('a/b/c', 1);
    tree.set('a/c/d', 2);
    // Count child lookups and child pushes on the nodes the walk touches.
    const proto = Object.getPrototypeOf((tree as unknown as { root: object }).root) as Record<
      string,
      (...args: unknown[]) => unknown
    >;
    let touched = 0;
    const child = proto.child;
    const push = proto.pushChildren;
    proto.child = function (this: unknown, ...args: unknown[]) {
      touched++;
      return child.apply(this, args);
    };
    proto.pushChildren = function (this: unknown, ...args: unknown[]) {
      touched++;
      return push.apply(this, args);
    };
    try {
      assert.deepEqual(matched(tree, 'a/b/+'), ['a/b/c']);
    } finally {
      proto.child = child;
      proto.pushChildren = push;
    }
    assert.ok(touched <= 3, `touched ${touched} nodes`);
  });
});
