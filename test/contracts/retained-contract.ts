/** The store contract, retained port: put, replace, delete, stream at start, match by filter. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredMessage } from '../../src/ports/index.js';
import type { MakeStore } from './store-contract.js';
import { retainedOf, withStore } from './store-contract.js';
import { plainMessage, richMessage } from './store-fixtures.js';

/** Registers the retained port's tests. */
export function runRetainedContract(makeStore: MakeStore): void {
  runWriteAndLoadContract(makeStore);
  runMatchContract(makeStore);
}

const expiring = (id: number, topic: string, expiresAt: number): StoredMessage => ({
  ...plainMessage(id, `e${id}`, topic),
  expiresAt,
});

/** Writes and the start-up stream. */
function runWriteAndLoadContract(makeStore: MakeStore): void {
  test('retained: put, replace by topic, delete; lastMessageId counts them', () =>
    withStore(makeStore, async ({ store }) => {
      store.putRetained(plainMessage(3, 'old', 'r/1'));
      store.putRetained(richMessage(9, 'r/1'));
      store.putRetained(plainMessage(4, 'two', 'r/2'));
      store.putRetained(plainMessage(5, 'gone', 'r/3'));
      store.deleteRetained('r/3');
      store.deleteRetained('r/none');
      await store.commit();
      const state = await store.load();
      const retained = await retainedOf(store);
      assert.deepEqual(retained, [richMessage(9, 'r/1'), plainMessage(4, 'two', 'r/2')]);
      assert.equal(state.lastMessageId, 9);
    }));

  test('retained: the publisher round-trips, anonymous or named; absent stays absent', () =>
    withStore(makeStore, async ({ store }) => {
      const anonymous = { ...plainMessage(1, 'a', 'r/anon'), publisher: { listener: 'tcp' } };
      const named = {
        ...plainMessage(2, 'n', 'r/named'),
        publisher: { listener: 'ws', username: 'bob' },
      };
      store.putRetained(anonymous);
      store.putRetained(named);
      store.putRetained(plainMessage(3, 'h', 'r/host'));
      await store.commit();
      const byTopic = new Map((await retainedOf(store)).map((m) => [m.topic, m]));
      assert.deepEqual(byTopic.get('r/anon'), anonymous);
      assert.deepEqual(byTopic.get('r/named'), named);
      assert.equal(byTopic.get('r/host')?.publisher, undefined);
    }));

  test('loadRetained: topic order, expired ones deleted, the refused one and every later one deleted', () =>
    withStore(makeStore, async ({ store }) => {
      store.putRetained(plainMessage(1, 'd', 'r/d'));
      store.putRetained(plainMessage(2, 'a', 'r/a'));
      store.putRetained(expiring(3, 'r/b', 1000));
      store.putRetained(plainMessage(4, 'c', 'r/c'));
      store.putRetained(expiring(5, 'r/e', 5000));
      store.putRetained(expiring(6, 'r/f', 900));
      await store.commit();
      const offered: string[] = [];
      const result = await store.loadRetained(1000, (message) => {
        offered.push(message.topic);
        return message.topic !== 'r/d';
      });
      // r/b (expires at 1000) and r/f are expired at 1000; r/d is refused, r/e comes after it.
      assert.deepEqual(offered, ['r/a', 'r/c', 'r/d']);
      assert.deepEqual(result, { restored: 2, expired: 2, dropped: 2 });
      await store.commit();
      assert.deepEqual(
        (await retainedOf(store)).map((m) => m.topic),
        ['r/a', 'r/c'],
        'what was not restored is gone from the store',
      );
    }));
}

/** Topics of a tree-shaped set, with '$' topics, empty levels and multi-byte characters. */
const TOPICS = [
  'a',
  'a/b',
  'a/b/c',
  'a/b/c/d',
  'a/bc',
  'a/b-c',
  'a/x/c',
  'a//c',
  'ab',
  'b/c',
  '/a',
  '$SYS/broker/uptime',
  '$SYS',
  'a/ü/c',
  'a/b0',
];

async function matched(
  store: { matchRetained(filter: string, now: number): Promise<StoredMessage[]> },
  filter: string,
  now = 0,
): Promise<string[]> {
  return (await store.matchRetained(filter, now)).map((m) => m.topic);
}

/** `matchRetained`: wildcards, the '$' rule, topic order, expiry. */
function runMatchContract(makeStore: MakeStore): void {
  test('matchRetained: exact topics, + and # (its parent level too), in topic order', () =>
    withStore(makeStore, async ({ store }) => {
      TOPICS.forEach((topic, i) => {
        store.putRetained(plainMessage(i + 1, topic, topic));
      });
      const sorted = (topics: string[]): string[] =>
        [...topics].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      assert.deepEqual(await matched(store, 'a/b'), ['a/b']);
      assert.deepEqual(await matched(store, 'a/nothing'), []);
      assert.deepEqual(
        await matched(store, 'a/b/#'),
        sorted(['a/b', 'a/b/c', 'a/b/c/d']),
        '`a/b/#` matches a/b itself, not a/bc, a/b-c or a/b0',
      );
      assert.deepEqual(await matched(store, 'a/+/c'), sorted(['a/b/c', 'a/x/c', 'a//c', 'a/ü/c']));
      assert.deepEqual(await matched(store, 'a/+'), sorted(['a/b', 'a/bc', 'a/b-c', 'a/b0']));
      assert.deepEqual(
        await matched(store, '+/+'),
        sorted(['a/b', 'a/bc', 'a/b-c', 'a/b0', 'b/c', '/a']),
      );
      assert.deepEqual(
        await matched(store, '#'),
        sorted(TOPICS.filter((t) => !t.startsWith('$'))),
        '[MQTT-4.7.2-1] a leading wildcard does not match $ topics',
      );
      assert.deepEqual(await matched(store, '$SYS/#'), sorted(['$SYS', '$SYS/broker/uptime']));
      assert.deepEqual(await matched(store, '+/broker/+'), []);
      const [message] = await store.matchRetained('a/b/c/d', 0);
      assert.deepEqual(message, plainMessage(4, 'a/b/c/d', 'a/b/c/d'), 'the whole message');
      await store.commit();
    }));

  test('matchRetained: expired messages are not returned and are deleted; sees uncommitted writes', () =>
    withStore(makeStore, async ({ store }) => {
      store.putRetained(expiring(1, 's/old', 1000));
      store.putRetained(expiring(2, 's/live', 5000));
      store.putRetained(plainMessage(3, 'x', 's/forever'));
      store.putRetained(plainMessage(4, 'y', 's/deleted'));
      store.deleteRetained('s/deleted');
      assert.deepEqual(await matched(store, 's/+', 999), ['s/forever', 's/live', 's/old']);
      assert.deepEqual(await matched(store, 's/#', 1000), ['s/forever', 's/live']);
      await store.commit();
      assert.deepEqual(
        (await retainedOf(store, 0)).map((m) => m.topic),
        ['s/forever', 's/live'],
        'the expired one was deleted from the store',
      );
    }));
}
