import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type SharedGroup, SubscriptionTrie } from '../../src/topic/index.js';

interface Collected<T> {
  entries: string[];
  groups: SharedGroup<T>[];
}

/** Runs match and returns sorted 'key@filter' strings plus the groups in visit order. */
function collect<T>(trie: SubscriptionTrie<T>, topic: string): Collected<T> {
  const entries: string[] = [];
  const groups: SharedGroup<T>[] = [];
  trie.match(
    topic,
    (key, _value, filter) => entries.push(`${key}@${filter}`),
    (group) => groups.push(group),
  );
  return { entries: entries.sort(), groups };
}

describe('SubscriptionTrie: add, replace, get, remove, size', () => {
  test('add returns true for a new (filter, key) pair and false when replacing', () => {
    const trie = new SubscriptionTrie<number>();
    assert.equal(trie.add('a/b', 'c1', 1), true);
    assert.equal(trie.add('a/b', 'c2', 2), true);
    assert.equal(trie.add('a/b', 'c1', 10), false);
    assert.equal(trie.add('a/+', 'c1', 3), true);
    assert.equal(trie.size, 3);
    assert.equal(trie.get('a/b', 'c1'), 10);
    assert.equal(trie.get('a/b', 'c2'), 2);
    assert.equal(trie.get('a/+', 'c1'), 3);
    assert.equal(trie.get('a/#', 'c1'), undefined);
    assert.equal(trie.get('a', 'c1'), undefined);
    assert.equal(trie.get('a/b/c', 'c1'), undefined);
  });

  test('a replaced value is what match reports', () => {
    const trie = new SubscriptionTrie<string>();
    trie.add('t', 'c1', 'old');
    trie.add('t', 'c1', 'new');
    const seen: string[] = [];
    trie.match(
      't',
      (_k, v) => seen.push(v),
      () => {},
    );
    assert.deepEqual(seen, ['new']);
  });

  test('remove returns whether an entry existed and keeps size right', () => {
    const trie = new SubscriptionTrie<number>();
    trie.add('a/b', 'c1', 1);
    trie.add('a/b', 'c2', 2);
    assert.equal(trie.remove('a/b', 'c3'), false);
    assert.equal(trie.remove('a/c', 'c1'), false);
    assert.equal(trie.remove('a', 'c1'), false);
    assert.equal(trie.remove('a/b', 'c1'), true);
    assert.equal(trie.remove('a/b', 'c1'), false);
    assert.equal(trie.size, 1);
    assert.deepEqual(collect(trie, 'a/b').entries, ['c2@a/b']);
    assert.equal(trie.remove('a/b', 'c2'), true);
    assert.equal(trie.size, 0);
    assert.deepEqual(collect(trie, 'a/b').entries, []);
  });

  test('remove prunes empty nodes but keeps nodes that still lead somewhere', () => {
    const trie = new SubscriptionTrie<number>();
    trie.add('a/b/c', 'k', 1);
    trie.add('a', 'k', 2);
    trie.add('a/+/#', 'k', 3);
    trie.remove('a/b/c', 'k');
    trie.remove('a/+/#', 'k');
    // Only 'a' remains: the root has one child with no children of its own.
    const root = (trie as unknown as { root: { child(l: string): unknown } }).root;
    const a = root.child('a') as { hasNoChildren(): boolean; plus: unknown; hash: unknown };
    assert.ok(a !== undefined);
    assert.equal(a.hasNoChildren(), true);
    assert.equal(a.plus, undefined);
    assert.equal(a.hash, undefined);
    trie.remove('a', 'k');
    assert.equal(root.child('a'), undefined);
    assert.equal(trie.size, 0);
  });

  test('a node with many children and entries shrinks back cleanly', () => {
    const trie = new SubscriptionTrie<number>();
    for (let i = 0; i < 50; i++) {
      trie.add(`x/${i}`, `c${i}`, i);
      trie.add('x/#', `c${i}`, i);
    }
    assert.equal(trie.size, 100);
    assert.equal(collect(trie, 'x/7').entries.length, 51);
    for (let i = 0; i < 50; i++) {
      assert.equal(trie.remove(`x/${i}`, `c${i}`), true);
      assert.equal(trie.remove('x/#', `c${i}`), true);
    }
    assert.equal(trie.size, 0);
    const root = (trie as unknown as { root: { hasNoChildren(): boolean } }).root;
    assert.equal(root.hasNoChildren(), true);
  });
});

describe('SubscriptionTrie: match', () => {
  test('overlapping filters of one subscriber give one visit per filter', () => {
    const trie = new SubscriptionTrie<number>();
    trie.add('a/b', 'c1', 1);
    trie.add('a/+', 'c1', 2);
    trie.add('a/#', 'c1', 3);
    trie.add('#', 'c1', 4);
    trie.add('+/+', 'c2', 5);
    trie.add('a/b/c', 'c1', 6);
    assert.deepEqual(collect(trie, 'a/b').entries, [
      'c1@#',
      'c1@a/#',
      'c1@a/+',
      'c1@a/b',
      'c2@+/+',
    ]);
  });

  test("'a/#' matches 'a' and everything below, once each", () => {
    const trie = new SubscriptionTrie<number>();
    trie.add('a/#', 'c', 1);
    assert.deepEqual(collect(trie, 'a').entries, ['c@a/#']);
    assert.deepEqual(collect(trie, 'a/').entries, ['c@a/#']);
    assert.deepEqual(collect(trie, 'a/b/c/d').entries, ['c@a/#']);
    assert.deepEqual(collect(trie, 'ab').entries, []);
  });

  test("leading wildcards skip '$' topics [MQTT-4.7.2-1]", () => {
    const trie = new SubscriptionTrie<number>();
    trie.add('#', 'all', 1);
    trie.add('+/monitor/Clients', 'plus', 2);
    trie.add('$SYS/#', 'sys', 3);
    trie.add('$SYS/monitor/+', 'mon', 4);
    trie.add('$share/g/#', 'shared', 5);
    assert.deepEqual(collect(trie, '$SYS/monitor/Clients').entries, [
      'mon@$SYS/monitor/+',
      'sys@$SYS/#',
    ]);
    assert.equal(collect(trie, '$SYS/monitor/Clients').groups.length, 0);
    assert.deepEqual(collect(trie, 'x/monitor/Clients').entries, [
      'all@#',
      'plus@+/monitor/Clients',
    ]);
    assert.equal(collect(trie, 'x/monitor/Clients').groups.length, 1);
  });

  test('empty levels are real levels', () => {
    const trie = new SubscriptionTrie<number>();
    trie.add('a//b', 'c1', 1);
    trie.add('a/+/b', 'c2', 2);
    trie.add('/+', 'c3', 3);
    trie.add('+', 'c4', 4);
    assert.deepEqual(collect(trie, 'a//b').entries, ['c1@a//b', 'c2@a/+/b']);
    assert.deepEqual(collect(trie, '/x').entries, ['c3@/+']);
    assert.deepEqual(collect(trie, '/').entries, ['c3@/+']);
    assert.deepEqual(collect(trie, 'x').entries, ['c4@+']);
  });

  test('a callback may re-enter match on the same trie', () => {
    const trie = new SubscriptionTrie<number>();
    trie.add('a/+', 'c1', 1);
    trie.add('b', 'c2', 2);
    trie.add('a/x', 'c3', 3);
    const outer: string[] = [];
    const inner: string[] = [];
    trie.match(
      'a/x',
      (key) => {
        outer.push(key);
        trie.match(
          'b',
          (k) => inner.push(k),
          () => {},
        );
      },
      () => {},
    );
    assert.deepEqual(outer.sort(), ['c1', 'c3']);
    assert.deepEqual(inner, ['c2', 'c2']);
  });

  test('a topic with thousands of levels does not overflow the stack', () => {
    const trie = new SubscriptionTrie<number>();
    const deep = Array.from({ length: 20000 }, () => '+').join('/');
    trie.add(deep, 'c', 1);
    trie.add('#', 'd', 2);
    const topic = '/'.repeat(19999);
    assert.deepEqual(collect(trie, topic).entries, [`c@${deep}`, 'd@#']);
  });
});

describe('SubscriptionTrie: shared subscriptions', () => {
  test('groups are per (group, filter), members in insertion order', () => {
    const trie = new SubscriptionTrie<number>();
    assert.equal(trie.add('$share/g/a/+', 'c2', 1), true);
    assert.equal(trie.add('$share/g/a/+', 'c1', 2), true);
    assert.equal(trie.add('$share/g/a/#', 'c1', 3), true);
    assert.equal(trie.add('$share/h/a/+', 'c3', 4), true);
    assert.equal(trie.add('$share/g/a/+', 'c2', 5), false);
    assert.equal(trie.add('a/+', 'c1', 6), true);
    assert.equal(trie.size, 5);
    const { entries, groups } = collect(trie, 'a/b');
    assert.deepEqual(entries, ['c1@a/+']);
    const described = groups
      .map((g) => `${g.shareFilter}|${g.name}|${g.filter}|${[...g.members].join(';')}`)
      .sort();
    assert.deepEqual(described, [
      '$share/g/a/#|g|a/#|c1,3',
      '$share/g/a/+|g|a/+|c2,5;c1,2',
      '$share/h/a/+|h|a/+|c3,4',
    ]);
  });

  test('get and remove address shared entries by their full filter', () => {
    const trie = new SubscriptionTrie<number>();
    trie.add('$share/g/t', 'c1', 1);
    trie.add('t', 'c1', 2);
    assert.equal(trie.get('$share/g/t', 'c1'), 1);
    assert.equal(trie.get('t', 'c1'), 2);
    assert.equal(trie.get('$share/h/t', 'c1'), undefined);
    assert.equal(trie.remove('$share/h/t', 'c1'), false);
    assert.equal(trie.remove('$share/g/t', 'c1'), true);
    assert.equal(trie.get('$share/g/t', 'c1'), undefined);
    assert.equal(trie.get('t', 'c1'), 2);
    assert.equal(collect(trie, 't').groups.length, 0);
    assert.equal(trie.size, 1);
  });

  test('the group object and its cursor survive while members remain', () => {
    const trie = new SubscriptionTrie<number>();
    trie.add('$share/g/t', 'c1', 1);
    trie.add('$share/g/t', 'c2', 2);
    const [group] = collect(trie, 't').groups;
    group.cursor = 7;
    trie.remove('$share/g/t', 'c1');
    const [again] = collect(trie, 't').groups;
    assert.equal(again, group);
    assert.equal(again.cursor, 7);
    assert.deepEqual([...again.members.keys()], ['c2']);
    trie.remove('$share/g/t', 'c2');
    trie.add('$share/g/t', 'c3', 3);
    const [fresh] = collect(trie, 't').groups;
    assert.notEqual(fresh, group);
    assert.equal(fresh.cursor, 0);
  });

  test("the '$' rule applies to the inner filter of a shared subscription [MQTT-4.7.2-1]", () => {
    const trie = new SubscriptionTrie<number>();
    trie.add('$share/g/+/x', 'c1', 1);
    trie.add('$share/g/$SYS/x', 'c2', 2);
    assert.deepEqual(
      collect(trie, '$SYS/x').groups.map((g) => g.shareFilter),
      ['$share/g/$SYS/x'],
    );
    assert.deepEqual(
      collect(trie, 'a/x').groups.map((g) => g.shareFilter),
      ['$share/g/+/x'],
    );
  });

  test('sharedSize counts the members of every group, not plain entries or replacements', () => {
    const trie = new SubscriptionTrie<number>();
    trie.add('a/#', 'c1', 0);
    trie.add('$share/g/a/#', 'c1', 0);
    trie.add('$share/g/a/#', 'c2', 0);
    trie.add('$share/h/a/#', 'c1', 0);
    trie.add('$share/g/a/#', 'c2', 1); // a replacement, not a new member
    assert.equal(trie.sharedSize, 3);
    assert.equal(trie.size, 4);
    assert.equal(trie.remove('$share/g/a/#', 'c2'), true);
    assert.equal(trie.remove('$share/g/a/#', 'c9'), false);
    assert.equal(trie.remove('a/#', 'c1'), true);
    assert.equal(trie.sharedSize, 2);
    assert.equal(trie.size, 2);
  });
});
