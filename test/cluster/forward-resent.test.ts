/**
 * A forward that Redis ran but whose reply was lost (the connection cut right after: a
 * network cut, a master killed right after its write) is sent again by ioredis once it
 * reconnects (`autoResendUnfulfilledCommands`, kept on purpose so that a forward reaches the
 * new master after a failover). Node a's connections go through a proxy that lets a command
 * through, swallows its reply and cuts the connection (test/helpers/reply-cut-proxy.ts): the
 * batch is then twice in b's inbox stream (or published twice on b's QoS 0 channel), and
 * b must deliver it once (src/cluster/batch-number.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { BatchNumbers, NUMBER_BYTES, ResentBatches } from '../../src/cluster/batch-number.js';
import { encodeBatch } from '../../src/cluster/envelope.js';
import { collectUntil, connectClient, endClient, waitFor } from '../helpers/broker.js';
import { testMessage } from '../helpers/message.js';
import { type ReplyCutProxy, startReplyCutProxy } from '../helpers/reply-cut-proxy.js';
import { startNode, type TestNode, waitForRoute } from './cluster-nodes.js';
import { RedisFixture } from './redis-fixture.js';

/** A batch of one QoS 2 message on `topic` (the id unique per call). */
let nextId = 1;
function batchOf(topic: string): Buffer {
  const message = testMessage({ id: 0x7f00_0000_0000 + nextId++, topic, qos: 2 });
  return encodeBatch([{ message, shareFilters: undefined }]);
}

/** `batch` with the next number of `numbers` in front, as the outbox sends it. */
function numbered(numbers: BatchNumbers, batch: Buffer): Buffer {
  const buffer = Buffer.alloc(NUMBER_BYTES + batch.length);
  batch.copy(buffer, NUMBER_BYTES);
  return buffer.subarray(numbers.stamp(buffer, NUMBER_BYTES));
}

describe('batch numbers (src/cluster/batch-number.ts)', () => {
  it('skips a batch whose number is not above the highest seen from its sender, per sender', () => {
    const one = new BatchNumbers();
    const two = new BatchNumbers();
    const seen = new ResentBatches();
    const batch = batchOf('n/t');
    const first = numbered(one, batch);
    const second = numbered(one, batch);
    assert.deepEqual(seen.fresh(first), batch);
    assert.equal(seen.fresh(first), undefined); // resent
    // Another sender's numbers start again: told apart by its sender id.
    assert.deepEqual(seen.fresh(numbered(two, batch)), batch);
    assert.deepEqual(seen.fresh(second), batch);
    assert.equal(seen.fresh(first), undefined);
    assert.equal(seen.fresh(second), undefined);
  });

  it('returns a batch without a number (a node of an earlier version) as it is, every time', () => {
    const seen = new ResentBatches();
    const batch = batchOf('n/old');
    assert.equal(seen.fresh(batch), batch);
    assert.equal(seen.fresh(batch), batch);
  });

  it('throws on a truncated number', () => {
    const whole = numbered(new BatchNumbers(), batchOf('n/cut'));
    assert.throws(() => new ResentBatches().fresh(whole.subarray(0, 9)), /truncated/);
  });
});

/** Two nodes, a's Redis connections through the proxy; `qos0Channel` for both. */
async function startPair(qos0Channel: boolean) {
  const redis = await RedisFixture.start();
  const proxy = await startReplyCutProxy(redis.port);
  const a = await startNode(redis, { cluster: { url: proxy.url, qos0Channel } });
  const b = await startNode(redis, { cluster: { url: redis.url, qos0Channel } });
  return { redis, proxy, a, b };
}

/**
 * Starts the pair before the suite's tests (handing it to `use`) and, after them, ends the
 * suite's `clients` and stops the pair.
 */
function pairHooks(
  qos0Channel: boolean,
  clients: MqttClient[],
  use: (pair: Awaited<ReturnType<typeof startPair>>) => void,
): void {
  let pair: Awaited<ReturnType<typeof startPair>> | undefined;
  before(async () => {
    pair = await startPair(qos0Channel);
    use(pair);
  });
  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    if (pair === undefined) return;
    await pair.a.close();
    await pair.b.close();
    await pair.proxy.close();
    await pair.redis.stop();
  });
}

describe('cluster: a forward resent after its reply was lost is delivered once', () => {
  let redis: RedisFixture;
  let proxy: ReplyCutProxy;
  let a: TestNode;
  let b: TestNode;
  const clients: MqttClient[] = [];

  pairHooks(false, clients, (pair) => {
    ({ redis, proxy, a, b } = pair);
  });

  async function client(node: TestNode, clientId: string) {
    const c = await connectClient(node.url, { protocolVersion: 5, clientId });
    clients.push(c);
    return c;
  }

  it('delivers a QoS 2 message whose XADD ran twice once to a QoS 2 and to a QoS 0 subscriber [MQTT-4.3.3-2] (3.1.1) [MQTT-4.3.3-10] (5.0)', async () => {
    const sub2 = await client(b, 'resent-q2');
    await sub2.subscribeAsync('resent/#', { qos: 2 });
    const sub0 = await client(b, 'resent-q0');
    await sub0.subscribeAsync('resent/#', { qos: 0 });
    await waitForRoute(a, b.nodeId, 'resent/#');
    const pub = await client(a, 'resent-pub');
    const got2 = collectUntil(sub2, 'resent/end');
    const got0 = collectUntil(sub0, 'resent/end');
    const xadds = await redis.commandCalls('xadd');
    const received = b.broker.cluster!.status().inbox.received;
    // The next command holding the topic (a's XADD of the batch to b's inbox) runs on Redis,
    // its reply is lost, the connection cut: ioredis sends it again once reconnected.
    proxy.arm('resent/once');
    await pub.publishAsync('resent/once', 'x', { qos: 2 });
    // Then the end, on a's connection once it is back, after the resend (ioredis sends what
    // it resends first): b reads the end after the resent entry.
    await waitFor(() => proxy.cuts === 1, 5000, 'the cut');
    await pub.publishAsync('resent/end', '', { qos: 2 });
    assert.deepEqual(
      (await got2).map((m) => m.topic),
      ['resent/once'],
    );
    assert.deepEqual(
      (await got0).map((m) => m.topic),
      ['resent/once'],
    );
    // Redis ran the batch's XADD twice (the original and ioredis's resend), and the end's once.
    assert.equal((await redis.commandCalls('xadd')) - xadds, 3);
    const status = b.broker.cluster!.status().inbox;
    // Each subscriber's copy comes from one delivery of the message to b.
    assert.equal(status.received - received, 2); // the message and the end
    assert.equal(status.resent, 1);
  });

  it('skips only the resent batch: messages before and after it are delivered once, in order', async () => {
    const sub = await client(b, 'resent-order');
    await sub.subscribeAsync('order/#', { qos: 2 });
    await waitForRoute(a, b.nodeId, 'order/#');
    const pub = await client(a, 'resent-order-pub');
    const got = collectUntil(sub, 'order/end');
    for (let i = 0; i < 5; i++) await pub.publishAsync('order/t', String(i), { qos: 2 });
    proxy.arm('order/cut');
    await pub.publishAsync('order/cut', '5', { qos: 2 });
    await waitFor(() => proxy.cuts === 2, 5000, 'the cut');
    for (let i = 6; i < 10; i++) await pub.publishAsync('order/t', String(i), { qos: 2 });
    await pub.publishAsync('order/end', '', { qos: 2 });
    assert.deepEqual(
      (await got).map((m) => Number(m.payload.toString())),
      Array.from({ length: 10 }, (_, i) => i),
    );
    assert.equal(b.broker.cluster!.status().inbox.resent, 2);
  });

  it('delivers a batch without a number (from a node of an earlier version) as before', async () => {
    const sub = await client(b, 'resent-old');
    await sub.subscribeAsync('old/#', { qos: 2 });
    const got = collectUntil(sub, 'old/end');
    const inbox = `pipit:inbox:${b.nodeId}`;
    await redis.redis.xadd(inbox, '*', 'm', batchOf('old/t'));
    // Numbered by a sender b never heard of, written twice: once.
    const numbers = new BatchNumbers();
    const twice = numbered(numbers, batchOf('old/n'));
    await redis.redis.xadd(inbox, '*', 'm', twice);
    await redis.redis.xadd(inbox, '*', 'm', twice);
    await redis.redis.xadd(inbox, '*', 'm', numbered(numbers, batchOf('old/end')));
    assert.deepEqual(
      (await got).map((m) => m.topic),
      ['old/t', 'old/n'],
    );
    assert.equal(b.broker.cluster!.status().inbox.resent, 3);
  });
});

describe('cluster: a QoS 0 batch resent on the QoS 0 channel (cluster.qos0Channel) is delivered once', () => {
  let redis: RedisFixture;
  let proxy: ReplyCutProxy;
  let a: TestNode;
  let b: TestNode;
  const clients: MqttClient[] = [];

  pairHooks(true, clients, (pair) => {
    ({ redis, proxy, a, b } = pair);
  });

  it('delivers a QoS 0 message whose PUBLISH ran twice at most once', async () => {
    const sub = await connectClient(b.url, { protocolVersion: 5, clientId: 'resent-ch' });
    clients.push(sub);
    await sub.subscribeAsync('channel/#', { qos: 0 });
    await waitForRoute(a, b.nodeId, 'channel/#');
    await waitFor(
      async () => (await redis.redis.pubsub('CHANNELS', `*qos0:${b.nodeId}`)).length === 1,
      5000,
      "b's QoS 0 subscriber",
    );
    const pub = await connectClient(a.url, { protocolVersion: 5, clientId: 'resent-ch-pub' });
    clients.push(pub);
    const got = collectUntil(sub, 'channel/end');
    proxy.arm('channel/once');
    await pub.publishAsync('channel/once', 'x', { qos: 0 });
    await waitFor(() => proxy.cuts === 1, 5000, 'the cut');
    // On a's connection once it is back, after the resend (ioredis sends what it resends
    // first): b gets the end after the resent PUBLISH, on the same channel.
    await pub.publishAsync('channel/end', '', { qos: 0 });
    assert.deepEqual(
      (await got).map((m) => m.topic),
      ['channel/once'],
    );
    assert.equal(b.broker.cluster!.status().qos0!.resent, 1);
  });
});
