/**
 * A cluster whose Redis is reached over a Unix socket (`unix:///.../redis.sock`, docs/cluster.md
 * "Redis over a Unix socket"): a redis-server with no TCP listener (`--port 0 --unixsocket`),
 * one node in this process (embedded options) and one `pipit broker --cluster unix://...`
 * child, both with the Redis store the cluster implies on that socket. QoS 1 both ways, a
 * retained message and a takeover cross them; the socket going away (its file deleted) is
 * survived as Redis going down is; a socket that does not exist at start is refused as an
 * unreachable Redis is; a malformed URL is refused naming the flag.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { createBroker } from '../../src/index.js';
import {
  connectClient,
  endClient,
  nextMessages,
  type TestBroker,
  waitFor,
} from '../helpers/broker.js';
import { type CliNode, runBrokerToExit, startCliNode, stopNode } from './cli-node.js';
import { connectCollecting, startSharedNode } from './cluster-nodes.js';
import { RedisFixture } from './redis-fixture.js';

describe('cluster: Redis over a Unix socket', () => {
  let redis: RedisFixture;
  let a: TestBroker & { nodeId: number };
  let b: CliNode;
  const clients: MqttClient[] = [];
  const client = async (url: string, options: Parameters<typeof connectClient>[1] = {}) => {
    const c = await connectClient(url, options);
    clients.push(c);
    return c;
  };

  before(async () => {
    redis = await RedisFixture.start({ unixSocket: true });
    a = await startSharedNode(redis);
    b = await startCliNode(redis.url);
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    // Each guarded: a before() that failed half-way leaves the rest to stop.
    // b first: it drains while a is there to take its sessions (alone, a drain waits longer).
    if (b !== undefined) await stopNode(b);
    await a?.close();
    await redis?.stop();
  });

  /** Waits until the node of `a` routes `filter` to its one peer (the CLI node). */
  const waitForPeerRoute = (filter: string) =>
    waitFor(
      () => a.broker.cluster!.status().peers.some((p) => p.filters.includes(filter)),
      10_000,
      `the CLI node's route ${filter}`,
    );

  it('reaches Redis only over the socket: both nodes and their stores are its clients there', async () => {
    assert.equal(redis.port, 0, 'the server has no TCP listener');
    assert.match(redis.url, /^unix:\/\/\/.*\/redis\.sock$/);
    const lines = ((await redis.redis.client('LIST')) as string).trim().split('\n');
    // A Unix socket client's addr is the socket's path (a TCP one's is ip:port).
    for (const line of lines) assert.ok(line.includes(` addr=${redis.socketPath}:0 `), line);
    const named = lines.map((line) => line.match(/ name=(pipit-\S+)/)?.[1]).filter(Boolean);
    // Each node's cluster connections: commands, pub/sub and the inbox reader (no QoS 0
    // channel's subscriber: cluster.qos0Channel is off by default).
    assert.deepEqual(named.sort(), [
      'pipit-commands',
      'pipit-commands',
      'pipit-inbox',
      'pipit-inbox',
      'pipit-subscriber',
      'pipit-subscriber',
    ]);
    assert.match(b.output(), /"store":"redis"[^\n]*"msg":"store opened"/);
    assert.equal(a.broker.cluster!.status().peers.length, 1);
  });

  it('delivers QoS 1 from a node to a subscriber on the other, both ways', async () => {
    const onB = await client(b.url, { protocolVersion: 5 });
    await onB.subscribeAsync('unix/ab', { qos: 1 });
    await waitForPeerRoute('unix/ab');
    const onA = await client(a.url, { protocolVersion: 5 });
    await onA.subscribeAsync('unix/ba', { qos: 1 });
    const toB = nextMessages(onB, 2);
    await onA.publishAsync('unix/ab', 'a1', { qos: 1 });
    await onA.publishAsync('unix/ab', 'a2', { qos: 1 });
    assert.deepEqual(
      (await toB).map((m) => [m.payload.toString(), m.packet.qos]),
      [
        ['a1', 1],
        ['a2', 1],
      ],
    );
    // b learns a's route from the announcement; a publish before it would match nothing.
    await waitFor(
      async () => (await redis.redis.hkeys(`pipit:routes:${a.nodeId}`)).includes('unix/ba'),
      10_000,
      "a's route table",
    );
    const toA = nextMessages(onA, 1);
    const retrying = setInterval(() => onB.publish('unix/ba', 'b1', { qos: 1 }), 500);
    try {
      const [got] = await toA;
      assert.equal(got!.payload.toString(), 'b1');
      assert.equal(got!.packet.qos, 1);
    } finally {
      clearInterval(retrying);
    }
  });

  it('keeps a retained message in the shared store: set on one node, sent on the other', async () => {
    const pub = await client(b.url, { protocolVersion: 5 });
    await pub.publishAsync('unix/retained', 'kept', { qos: 1, retain: true });
    const sub = await client(a.url, { protocolVersion: 5 });
    const got = nextMessages(sub, 1);
    await sub.subscribeAsync('unix/retained', { qos: 1 });
    const [message] = await got;
    assert.equal(message!.payload.toString(), 'kept');
    assert.equal(message!.packet.retain, true);
  });

  it('takes a session over from the other node: the old connection gets 0x8E, the session moves with its subscription [MQTT-3.1.4-3]', async () => {
    const persistent = {
      protocolVersion: 5,
      clientId: 'unix-mover',
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    } as const;
    const first = await connectCollecting(a.url, persistent);
    clients.push(first.client);
    await first.client.subscribeAsync('unix/moved', { qos: 1 });
    const takenOver = new Promise<number | undefined>((resolve) =>
      first.client.once('disconnect', (packet) => resolve(packet.reasonCode)),
    );
    const moved = await connectCollecting(b.url, persistent);
    clients.push(moved.client);
    assert.equal(moved.sessionPresent, true);
    assert.equal(await takenOver, 0x8e);
    await waitForPeerRoute('unix/moved');
    const pub = await client(a.url, { protocolVersion: 5 });
    await pub.publishAsync('unix/moved', 'after the move', { qos: 1 });
    await waitFor(() => moved.messages.length >= 1, 10_000, 'the message on the new node');
    assert.equal(moved.messages[0]!.payload, 'after the move');
  });

  it('survives its socket going away (file deleted): refuses new clients with 0x88, does not exit, and works again once Redis is back on it', async () => {
    const sub = await client(b.url, { protocolVersion: 5 });
    await sub.subscribeAsync('unix/back', { qos: 1 });
    await waitForPeerRoute('unix/back');
    const bId = a.broker.cluster!.status().peers[0]!.nodeId;
    await redis.kill();
    // A killed server leaves its socket file: delete it, so that connecting fails with
    // ENOENT (the path does not exist), not ECONNREFUSED.
    rmSync(redis.socketPath!, { force: true });
    await waitFor(() => a.broker.cluster!.status().redis !== 'ready', 5000, 'a to see Redis gone');
    await assert.rejects(
      connectClient(a.url, { protocolVersion: 5, clientId: 'unix-newcomer' }),
      (err: Error & { code?: number }) => {
        assert.equal(err.code, 0x88);
        return true;
      },
    );
    assert.equal(b.child.exitCode, null, 'the CLI node is still running');
    assert.equal(b.child.signalCode, null);

    await redis.restart();
    await waitFor(() => a.broker.cluster!.status().redis === 'ready', 10_000, 'a to reconnect');
    // Redis came back empty: b writes its route table again, a reads it.
    await waitFor(
      async () => (await redis.redis.hkeys(`pipit:routes:${bId}`)).includes('unix/back'),
      15_000,
      "the CLI node's routes written again",
    );
    // A forward is appended only while its peer is a member: wait for both to be again.
    await waitFor(
      async () =>
        (await redis.redis.exists(`pipit:node:${a.nodeId}`, `pipit:node:${bId}`)) === 2 &&
        (await redis.redis.smismember('pipit:nodes', a.nodeId, bId)).every((m) => m === 1),
      10_000,
      'both leases and memberships set again',
    );
    await waitForPeerRoute('unix/back');
    const pub = await client(a.url, { protocolVersion: 5 });
    const got = nextMessages(sub, 1);
    await pub.publishAsync('unix/back', 'again', { qos: 1 });
    assert.equal((await got)[0]!.payload.toString(), 'again');
    assert.match(a.broker.cluster!.status().redis, /ready/);
  });
});

describe('cluster: pipit broker --cluster unix:// refusals', () => {
  const runBroker = (args: string[]) => runBrokerToExit(['--memory', '--port', '0', ...args]);

  it('refuses a socket path that is not absolute, naming the flag and the form expected', () => {
    const { status, stderr } = runBroker(['--cluster', 'unix://run/redis.sock?password=hunter2']);
    assert.equal(status, 1);
    assert.match(
      stderr,
      /--cluster: unix:\/\/run\/redis\.sock\?password=\*\*\*: the socket path must be absolute, after "unix:\/\/" \(three slashes/,
    );
    assert.doesNotMatch(stderr, /hunter2/);
  });

  it('refuses an unknown query parameter, naming it', () => {
    const { status, stderr } = runBroker(['--cluster', 'unix:///run/redis.sock?tls=1']);
    assert.equal(status, 1);
    assert.match(
      stderr,
      /--cluster: unix:\/\/\/run\/redis\.sock\?tls=1: unknown query parameter "tls"/,
    );
  });

  it('exits 1 with the reason when the socket does not exist, as when Redis cannot be reached', () => {
    const path = join(tmpdir(), `pipit-no-such-dir-${process.pid}`, 'redis.sock');
    const { status, stderr } = runBroker(['--cluster', `unix://${path}`]);
    assert.equal(status, 1);
    assert.match(stderr, /cannot join the cluster at unix:\/\/\/[^\n]*redis\.sock: .*ENOENT/);
  });
});

describe('the Redis store over a Unix socket, with a password and a database', () => {
  let redis: RedisFixture;

  before(async () => {
    redis = await RedisFixture.start({ unixSocket: true });
    // The fixture's own connection stays logged in; new ones need the password.
    await redis.redis.config('SET', 'requirepass', 'p&ss word');
  });

  after(async () => {
    await redis?.stop();
  });

  it('logs in with the query password and writes to the query database', async () => {
    const url = `${redis.url}?db=3&password=${encodeURIComponent('p&ss word')}`;
    const broker = createBroker({ persistence: { kind: 'redis', url } });
    const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
    const check = new Redis({ path: redis.socketPath!, password: 'p&ss word', db: 3 });
    try {
      const pub = await connectClient(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5 });
      await pub.publishAsync('unix/store', 'in db 3', { qos: 1, retain: true });
      await endClient(pub);
      const keys = await check.keys('pipit:*');
      assert.ok(keys.length > 0, 'the store wrote its keys to database 3');
      await check.select(0);
      assert.deepEqual(await check.keys('pipit:*'), [], 'and none to database 0');
    } finally {
      check.disconnect();
      await broker.close();
    }
  });

  it('refuses to start with a wrong password, naming the socket and not the password', async () => {
    const broker = createBroker({
      persistence: { kind: 'redis', url: `${redis.url}?password=wrong-secret` },
    });
    await assert.rejects(broker.listen({ port: 0, host: '127.0.0.1' }), (err: Error) => {
      assert.match(err.message, /unix:\/\/\/[^ ]*redis\.sock\?password=\*\*\*/);
      assert.match(err.message, /WRONGPASS|invalid username-password/);
      assert.doesNotMatch(err.message, /wrong-secret/);
      return true;
    });
    await broker.close();
  });
});
