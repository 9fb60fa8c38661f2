/**
 * QoS 0 forwards on the per-node QoS 0 channel (src/cluster/qos0-receiver.ts, opt-in:
 * `cluster.qos0Channel`), two nodes in this process on a real redis-server. With the option:
 * delivered in order without touching the inbox stream;
 * the QoS 0 connection killed (CLIENT KILL), or closed by Redis for an output buffer over its
 * limit, counted, logged and back, the announcements' connection untouched; what is published
 * while no one listens counted as unheard on the sender; garbage on the channel skipped.
 * Without it (the default): no QoS 0 connection or channel, QoS 0 by the inbox stream, in
 * order with QoS 1 across nodes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { collectUntil, waitFor } from '../helpers/broker.js';
import { type TestNode, TwoNodes, waitForRoute } from './cluster-nodes.js';
import type { RedisFixture } from './redis-fixture.js';

/** The ids of the connections named `pipit-<role>` (CLIENT LIST). */
async function connectionIds(redis: RedisFixture, role: string): Promise<string[]> {
  const list = (await redis.redis.client('LIST')) as string;
  return list
    .split('\n')
    .filter((line) => line.includes(` name=pipit-${role} `))
    .map((line) => /^id=(\d+)/.exec(line)![1]!)
    .sort();
}

describe('cluster: QoS 0 forwards on the QoS 0 channel (cluster.qos0Channel)', () => {
  let nodes: TwoNodes;
  let redis: RedisFixture;
  let a: TestNode;
  let b: TestNode;

  before(async () => {
    nodes = await TwoNodes.start({ qos0Channel: true });
    ({ redis, a, b } = nodes);
  });
  after(() => nodes.stop());

  /** Subscribes on b to `topic/#`, QoS 1 (QoS 0 messages stay QoS 0). */
  async function subscriber(topic: string) {
    const sub = await nodes.client(b, { protocolVersion: 5 });
    await sub.subscribeAsync(`${topic}/#`, { qos: 1 });
    await waitForRoute(a, b.nodeId, `${topic}/#`);
    return sub;
  }

  /** Resolves once b's QoS 0 channel has its subscriber again. */
  async function listening(): Promise<void> {
    await waitFor(
      async () => (await redis.redis.pubsub('CHANNELS', `*qos0:${b.nodeId}`)).length === 1,
      5000,
      "b's QoS 0 subscriber",
    );
  }

  /** Publishes `count` QoS 0 messages and an end from a; resolves with b's payloads. */
  async function roundTrip(
    sub: Awaited<ReturnType<typeof subscriber>>,
    topic: string,
    count: number,
  ) {
    const pub = await nodes.client(a, { protocolVersion: 5 });
    const got = collectUntil(sub, `${topic}/end`);
    for (let i = 0; i < count; i++) pub.publish(`${topic}/t`, String(i), { qos: 0 });
    pub.publish(`${topic}/end`, '', { qos: 0 });
    return (await got).map((m) => Number(m.payload.toString()));
  }

  it('delivers QoS 0 messages in order, on the channel, none through the inbox', async () => {
    const sub = await subscriber('q0order');
    const xadds = await redis.commandCalls('xadd');
    const publishes = await redis.commandCalls('publish');
    const sent = a.broker.cluster!.status().outbox;
    const received = b.broker.cluster!.status().qos0!.received;
    // [MQTT-4.6.0-6]: one publisher's messages of one topic and QoS in the order received.
    assert.deepEqual(
      await roundTrip(sub, 'q0order', 500),
      Array.from({ length: 500 }, (_, i) => i),
    );
    assert.equal(await redis.commandCalls('xadd'), xadds);
    assert.ok((await redis.commandCalls('publish')) > publishes);
    const after = a.broker.cluster!.status().outbox;
    assert.equal(after.qos0Published - sent.qos0Published, 501);
    assert.equal(after.forwarded, sent.forwarded);
    assert.equal(after.qos0Unheard, sent.qos0Unheard);
    assert.equal(b.broker.cluster!.status().qos0!.received - received, 501);
  });

  it('counts a killed QoS 0 connection and delivers again once it is back', async () => {
    const sub = await subscriber('q0kill');
    const announcements = await connectionIds(redis, 'subscriber');
    const disconnects = b.broker.cluster!.status().qos0!.disconnects;
    const ids = await connectionIds(redis, 'qos0');
    assert.equal(ids.length, 2); // a's and b's
    for (const id of ids) await redis.redis.client('KILL', 'ID', id);
    await waitFor(() => b.broker.cluster!.status().qos0!.disconnects === disconnects + 1);
    await listening();
    assert.deepEqual(
      await roundTrip(sub, 'q0kill', 20),
      Array.from({ length: 20 }, (_, i) => i),
    );
    // The announcements' connections are not the ones killed.
    assert.deepEqual(await connectionIds(redis, 'subscriber'), announcements);
  });

  it('survives Redis closing it for its output buffer; announcements stay connected', async () => {
    const sub = await subscriber('q0overflow');
    const announcements = await connectionIds(redis, 'subscriber');
    const disconnects = b.broker.cluster!.status().qos0!.disconnects;
    const [limit] = (
      (await redis.redis.config('GET', 'client-output-buffer-limit')) as string[]
    ).slice(1);
    await redis.redis.config('SET', 'client-output-buffer-limit', 'pubsub 4096 0 0');
    try {
      const pub = await nodes.client(a, { protocolVersion: 5 });
      pub.publish('q0overflow/big', Buffer.alloc(64 * 1024), { qos: 0 });
      await waitFor(() => b.broker.cluster!.status().qos0!.disconnects === disconnects + 1);
    } finally {
      await redis.redis.config('SET', 'client-output-buffer-limit', limit!);
    }
    await listening();
    assert.deepEqual(
      await roundTrip(sub, 'q0overflow', 20),
      Array.from({ length: 20 }, (_, i) => i),
    );
    assert.deepEqual(await connectionIds(redis, 'subscriber'), announcements);
  });

  it('counts QoS 0 messages published while no one listens as unheard', async () => {
    const sub = await subscriber('q0unheard');
    const unheard = a.broker.cluster!.status().outbox.qos0Unheard;
    const connected = String(await redis.redis.client('LIST'))
      .trim()
      .split('\n').length;
    const ids = await connectionIds(redis, 'qos0');
    // Killed with no room to connect again (maxclients), in one step: no reconnection between.
    const multi = redis.redis.multi().config('SET', 'maxclients', String(connected - ids.length));
    for (const id of ids) multi.client('KILL', 'ID', id);
    await multi.exec();
    try {
      const pub = await nodes.client(a, { protocolVersion: 5 });
      for (let i = 0; i < 3; i++) await pub.publishAsync('q0unheard/t', 'lost', { qos: 0 });
      await waitFor(() => a.broker.cluster!.status().outbox.qos0Unheard === unheard + 3);
    } finally {
      await redis.redis.config('SET', 'maxclients', '10000');
    }
    await listening();
    assert.deepEqual(await roundTrip(sub, 'q0unheard', 5), [0, 1, 2, 3, 4]);
  });

  it('skips a batch on the channel it cannot decode, counted and logged, and goes on', async () => {
    const sub = await subscriber('q0garbage');
    const before = b.broker.cluster!.status();
    const channel = (await redis.redis.pubsub('CHANNELS', `*qos0:${b.nodeId}`)) as string[];
    assert.equal(await redis.redis.publish(channel[0]!, Buffer.from([0xff, 0x00, 0x13])), 1);
    await waitFor(() => b.broker.cluster!.status().qos0!.malformed === before.qos0!.malformed + 1);
    assert.equal(b.broker.cluster!.status().malformed.inbox, before.malformed.inbox + 1);
    assert.deepEqual(await roundTrip(sub, 'q0garbage', 5), [0, 1, 2, 3, 4]);
  });
});

describe('cluster: QoS 0 by the inbox stream without cluster.qos0Channel (the default)', () => {
  let nodes: TwoNodes;
  let redis: RedisFixture;
  let a: TestNode;
  let b: TestNode;

  before(async () => {
    nodes = await TwoNodes.start();
    ({ redis, a, b } = nodes);
  });
  after(() => nodes.stop());

  it('opens no QoS 0 connection or channel, and keeps QoS 0 and QoS 1 in order across nodes', async () => {
    assert.deepEqual(await connectionIds(redis, 'qos0'), []);
    assert.equal((await connectionIds(redis, 'inbox')).length, 2); // the names are set
    assert.deepEqual(await redis.redis.pubsub('CHANNELS', '*qos0:*'), []);
    assert.equal(a.broker.cluster!.status().qos0, undefined);
    const sub = await nodes.client(b, { protocolVersion: 5 });
    await sub.subscribeAsync('q0off/#', { qos: 1 });
    await waitForRoute(a, b.nodeId, 'q0off/#');
    const sent = a.broker.cluster!.status().outbox;
    const pub = await nodes.client(a, { protocolVersion: 5 });
    const got = collectUntil(sub, 'q0off/end');
    // One publisher, one topic, QoS 0 and 1 interleaved: delivered as published, across QoS
    // too (issue #11; one node keeps that order as well).
    for (let i = 0; i < 200; i++) pub.publish('q0off/t', String(i), { qos: i % 2 === 0 ? 0 : 1 });
    await pub.publishAsync('q0off/end', '', { qos: 1 });
    assert.deepEqual(
      (await got).map((m) => Number(m.payload.toString())),
      Array.from({ length: 200 }, (_, i) => i),
    );
    const after = a.broker.cluster!.status().outbox;
    assert.equal(after.forwarded - sent.forwarded, 201); // every one by b's inbox stream
    assert.equal(after.qos0Published, 0);
  });
});
