/**
 * The Redis store against a real redis-server: group commit, a Redis killed during a commit
 * and restarted, Redis down, WAIT on a replica, out of memory, the key layout, and two
 * stores (two brokers) sharing one Redis.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import {
  isStoreFull,
  isStoreUnavailable,
  RedisStore,
  type RedisStoreOptions,
} from '../../src/storage/index.js';
import {
  delivery,
  plainMessage,
  richMessage,
  richWill,
  subscription,
} from '../contracts/store-fixtures.js';
import {
  type RedisServer,
  type RedisServerOptions,
  startRedisServer,
} from '../helpers/redis-server.js';
import { waitFor } from './helpers.js';

const servers = new Set<RedisServer>();
const clients = new Set<Redis>();
after(async () => {
  for (const c of clients) c.disconnect();
  for (const s of servers) await s.destroy();
});

async function server(options?: RedisServerOptions): Promise<RedisServer> {
  const s = await startRedisServer(options);
  servers.add(s);
  return s;
}

/** A plain connection for inspecting or steering the server. */
function admin(s: RedisServer): Redis {
  const c = new Redis(s.url, { maxRetriesPerRequest: 0 });
  c.on('error', () => {});
  clients.add(c);
  return c;
}

async function open(
  s: RedisServer,
  options: Omit<RedisStoreOptions, 'url'> = {},
): Promise<RedisStore> {
  const store = new RedisStore({ url: s.url, commandTimeoutMs: 2000, ...options });
  await store.open();
  return store;
}

/** Commits `write` again and again until a commit succeeds (the store reconnected). */
async function commitOnceBack(store: RedisStore, write: () => void): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    write();
    try {
      await store.commit();
      return;
    } catch (err) {
      if (!isStoreUnavailable(err) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const sessionIds = async (store: RedisStore): Promise<string[]> =>
  (await store.loadSessions()).map((s) => s.clientId).sort();

describe('Redis store: group commit', () => {
  test('100 concurrent commits in one tick share one transaction (one MULTI/EXEC)', async () => {
    const s = await server();
    const store = await open(s);
    try {
      const before = store.transactions;
      const clients100 = Array.from({ length: 100 }, async (_, i) => {
        await Promise.resolve();
        store.putSession(`c${i}`, 60, undefined);
        store.putMessage(plainMessage(i + 1));
        store.enqueue(`c${i}`, 1, delivery(i + 1));
        await store.commit();
      });
      await Promise.all(clients100);
      assert.equal(store.transactions - before, 1);
      assert.equal((await store.load()).sessions.length, 100);
    } finally {
      await store.close();
    }
  });

  test('a message queued for many clients is written once per batch and counted once', async () => {
    const s = await server();
    const store = await open(s);
    try {
      store.putMessage(richMessage(7));
      for (let i = 0; i < 20; i++) store.enqueue(`c${i}`, 1, delivery(7));
      await store.commit();
      assert.equal(store.countMessages(), 1);
      const raw = admin(s);
      assert.equal(await raw.hget('pipit:m:7', 'r'), '20', 'one reference per entry');
      for (let i = 0; i < 20; i++) store.dequeue(`c${i}`, 1);
      store.gc();
      await store.commit();
      assert.equal(store.countMessages(), 0);
      assert.equal(await raw.exists('pipit:m:7'), 0, 'collected with its last reference');
    } finally {
      await store.close();
    }
  });
});

describe('Redis store: Redis lost and back', () => {
  test('redis-server killed during a commit: the commit rejects (StoreUnavailableError); what was committed before survives the restart', async () => {
    const s = await server();
    const store = await open(s);
    try {
      store.putSession('before', 60, undefined);
      store.putMessage(plainMessage(1, 'kept'));
      store.enqueue('before', 1, delivery(1));
      await store.commit();
      // Writes pause on the server, so the next batch is held there when Redis dies.
      await admin(s).call('CLIENT', 'PAUSE', '30000', 'WRITE');
      store.putSession('during', 60, undefined);
      // Its rejection is awaited from now on: it may come while the kill is still awaited.
      const during = assert.rejects(store.commit(), (err) => isStoreUnavailable(err));
      await new Promise((r) => setTimeout(r, 50));
      await s.kill();
      await during;
      await s.start();
      await commitOnceBack(store, () => store.putSession('after', 60, undefined));
      assert.deepEqual(await sessionIds(store), ['after', 'before']);
      const { entries, messages } = await store.readQueue('before', 0, 10);
      assert.equal(entries.length, 1);
      assert.equal(messages.get(1)?.payload.toString(), 'kept');
    } finally {
      await store.close();
    }
  });

  test('while Redis is down a commit rejects at once, a read rejects, and close does not hang', async () => {
    const s = await server();
    const store = await open(s);
    store.putSession('a', 60, undefined);
    await store.commit();
    await s.kill();
    store.putSession('b', 60, undefined);
    await assert.rejects(store.commit(), (err: Error) => {
      assert.ok(isStoreUnavailable(err), `${err}`);
      assert.match(err.message, /redis:\/\/127\.0\.0\.1:\d+/, 'names the server');
      return true;
    });
    await assert.rejects(store.loadSession('a'));
    store.putSession('c', 60, undefined); // pending at close: fails, does not hold close
    await store.close();
  });
});

describe('Redis store: WAIT for replicas', () => {
  test('with one replica, a commit resolves once the replica has the batch; more replicas than exist rejects', async () => {
    const primary = await server();
    const replica = await server({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
    const info = admin(primary);
    let replicaOnline = false;
    const deadline = Date.now() + 15_000;
    while (!replicaOnline && Date.now() < deadline) {
      replicaOnline = /slave0:.*state=online/.test(await info.info('replication'));
      if (!replicaOnline) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(replicaOnline, 'the replica is in sync');
    const store = await open(primary, { wait: { replicas: 1, timeoutMs: 5000 } });
    const strict = await open(primary, {
      prefix: 'strict:',
      wait: { replicas: 2, timeoutMs: 100 },
    });
    const onReplica = await open(replica);
    try {
      store.putSession('w', 60, undefined);
      store.putSubscription('w', subscription('a/#'));
      await store.commit();
      assert.deepEqual(await onReplica.loadSession('w'), {
        clientId: 'w',
        expiryInterval: 60,
        subscriptions: [subscription('a/#')],
        inboundQos2: [],
      });
      strict.putSession('x', 60, undefined);
      await assert.rejects(strict.commit(), (err: Error) => {
        assert.ok(isStoreUnavailable(err), `${err}`);
        assert.match(err.message, /only 1 of 2 Redis replicas/);
        return true;
      });
    } finally {
      await store.close();
      await strict.close();
      await onReplica.close();
    }
  });
});

describe('Redis store: out of memory', () => {
  test('a commit over maxmemory rejects with StoreFullError and sets full; full clears once Redis has room', async () => {
    const s = await server();
    const store = await open(s);
    const raw = admin(s);
    try {
      const used = Number(/used_memory:(\d+)/.exec(await raw.info('memory'))?.[1]);
      await raw.config('SET', 'maxmemory', String(used + 512 * 1024));
      let error: unknown;
      for (let i = 1; i <= 100 && error === undefined; i++) {
        store.putMessage({ ...plainMessage(i), payload: Buffer.alloc(64 * 1024, i) });
        store.enqueue('big', i, delivery(i));
        await store.commit().catch((err: unknown) => {
          error = err;
        });
      }
      assert.ok(isStoreFull(error), `StoreFullError, got ${error}`);
      assert.match((error as Error).message, /maxmemory/);
      assert.equal(store.full, true);
      await raw.config('SET', 'maxmemory', '0');
      await waitFor(() => !store.full, 10_000);
      store.putSession('after', 60, undefined);
      await store.commit();
    } finally {
      await store.close();
    }
  });
});

describe('Redis store: key layout', () => {
  test('every key is under the prefix; one client’s keys share its hash tag; messages are keyed by id', async () => {
    const s = await server();
    const store = await open(s, { prefix: 'kp:' });
    try {
      const id = 'dev/1 ü';
      store.putSession(id, 60, undefined);
      store.setSessionOwner(id, { username: 'alice' });
      store.putSubscription(id, subscription('a/+'));
      store.addInboundQos2(id, 3);
      store.putMessage(plainMessage(1));
      store.putMessage(plainMessage(2));
      store.enqueue(id, 1, delivery(1));
      store.putInflight(id, { packetId: 1, state: 'publish', delivery: delivery(2) });
      store.putWill(id, richWill());
      store.putRetained(plainMessage(3, 'r', 'r/1'));
      await store.commit();
      const keys = (await admin(s).keys('*')).sort();
      assert.ok(
        keys.every((k) => k.startsWith('kp:')),
        `all under kp: ${keys}`,
      );
      const ofClient = keys.filter((k) => k.includes(id));
      assert.deepEqual(
        ofClient,
        ['f', 'in', 'q', 'qm', 's', 'sub'].map((suffix) => `kp:{c:${id}}:${suffix}`),
      );
      assert.deepEqual(
        keys.filter((k) => k.startsWith('kp:m:')),
        ['kp:m:1', 'kp:m:2'],
      );
      assert.deepEqual(
        keys.filter((k) => k.includes('{r}')),
        ['kp:{r}:m', 'kp:{r}:t'],
      );
    } finally {
      await store.close();
    }
  });

  test('a prefix with a hash tag brace is refused', () => {
    assert.throws(
      () => new RedisStore({ url: 'redis://127.0.0.1:1', prefix: 'a{b}:' }),
      /may not contain '\{' or '\}'/,
    );
  });

  test('open against a port where no Redis listens rejects, naming the server', async () => {
    const s = await server();
    await s.kill();
    const store = new RedisStore({ url: s.url, connectTimeoutMs: 2000 });
    await assert.rejects(store.open(), (err: Error) => {
      assert.match(err.message, /cannot reach redis:\/\/127\.0\.0\.1:\d+/);
      return true;
    });
  });
});

describe('Redis store: two brokers on one Redis', () => {
  test('a session one store committed is read by another (records, queue, inflight, messages)', async () => {
    const s = await server();
    const first = await open(s);
    const second = await open(s);
    try {
      first.putSession('moving', 120, 1_700_000_000_000);
      first.putSubscription('moving', subscription('x/#', { qos: 2 }));
      first.putMessage(richMessage(5));
      first.putMessage(plainMessage(6));
      first.enqueue('moving', 1, delivery(5));
      first.putInflight('moving', { packetId: 9, state: 'pubrel', delivery: delivery(6) });
      await first.commit();
      const record = await second.loadSession('moving');
      assert.equal(record?.expiryInterval, 120);
      assert.deepEqual(record?.subscriptions, [subscription('x/#', { qos: 2 })]);
      const { state, messages } = await second.loadQueue('moving');
      assert.equal(state.queuedCount, 1);
      assert.equal(state.lastSeq, 1);
      assert.deepEqual(state.inflight, [{ packetId: 9, state: 'pubrel', delivery: delivery(6) }]);
      assert.deepEqual(messages.get(6), plainMessage(6));
      const page = await second.readQueue('moving', 0, 10);
      assert.deepEqual(page.messages.get(5), richMessage(5));
    } finally {
      await first.close();
      await second.close();
    }
  });
});
