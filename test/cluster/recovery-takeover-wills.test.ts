/**
 * The wills of a dead node's clients survive the death of the survivor that recovers them
 * (issue #11). Node D (a `pipit broker` child) holds connected v5 clients with a Will Delay
 * Interval; it is killed (SIGKILL). Survivor V (a child too) removes D, takes its wills and
 * schedules them. With the shared store, one client comes back to V before its delay ran out
 * and resumes its session: its will is cancelled [MQTT-3.1.3-9]. Then V is killed before the
 * other will fell due. The next node W (in this process: it removes V, or claims V's node id)
 * publishes the pending will, exactly as it was set, and not the cancelled one.
 *
 * With the shared store the will also reaches W through the store (V wrote it there with its
 * due time, and W puts it back with the session it adopts from V); with `--memory` (no
 * session is shared or adopted) only the record V keeps in Redis (`orphan-wills:<V>`) does.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IClientOptions } from 'mqtt';
import type { BrokerOptions } from '../../src/index.js';
import { connectClient, endClient, type TestBroker, waitFor } from '../helpers/broker.js';
import { type CliNode, killNode, startCliNode } from './cli-node.js';
import {
  type CollectingClient,
  connectCollecting,
  startNode,
  startSharedNode,
} from './cluster-nodes.js';
import { RedisFixture } from './redis-fixture.js';

/** The Will Delay Interval of both wills, seconds: long enough for V to be killed first. */
const WILL_DELAY = 8;

/** A persistent v5 client whose will carries every property a will can have. */
const withWill = (clientId: string): IClientOptions => ({
  protocolVersion: 5,
  clientId,
  clean: false,
  reconnectPeriod: 0,
  properties: { sessionExpiryInterval: 300 },
  will: {
    topic: `tw/${clientId}`,
    payload: Buffer.from(`will of ${clientId}`),
    qos: 1,
    retain: true,
    properties: {
      willDelayInterval: WILL_DELAY,
      payloadFormatIndicator: true,
      messageExpiryInterval: 3600,
      contentType: 'text/plain',
      responseTopic: `tw/${clientId}/reply`,
      correlationData: Buffer.from([1, 2, 3]),
      userProperties: { origin: 'recovery-takeover-wills' },
    },
  },
});

/** How W comes: it removes V or claims V's node id, on the shared store or with `--memory`. */
const MODES = [
  { claims: false, shared: true },
  { claims: true, shared: true },
  { claims: false, shared: false },
  { claims: true, shared: false },
] as const;

for (const { claims, shared } of MODES) {
  const way = claims ? 'claims the dead survivor’s node id' : 'removes the dead survivor';
  const store = shared ? 'the shared store' : '--memory';
  describe(`cluster: the wills of a dead node’s clients when its survivor dies too (${store}; the next node ${way})`, () => {
    let redis: RedisFixture;
    let doomed: CliNode;
    let survivor: CliNode;
    let last: (TestBroker & { nodeId: number }) | undefined;

    before(async () => {
      redis = await RedisFixture.start();
      const file = join(mkdtempSync(join(tmpdir(), 'pipit-tw-')), 'pipit.yaml');
      writeFileSync(file, `cluster:\n  url: ${redis.url}\n  leaseMs: 1000\n  heartbeatMs: 100\n`);
      const args = ['-c', file, ...(shared ? [] : ['--memory'])];
      doomed = await startCliNode(undefined, args);
      survivor = await startCliNode(undefined, args);
    });

    after(async () => {
      if (doomed) await killNode(doomed);
      if (survivor) await killNode(survivor);
      await last?.close();
      await redis?.stop();
    });

    it('the next node publishes the will still pending, as it was set, and (with the shared store) not the one cancelled by its client’s return [MQTT-3.1.3-9]', async () => {
      const r = redis.redis;
      const pending = withWill('tw-pending');
      const back = withWill('tw-back');
      // Without a shared store a client that comes back gets a new session: nothing to cancel.
      const onD = [await connectClient(doomed.url, pending)];
      if (shared) onD.push(await connectClient(doomed.url, back));
      const doomedId = await nodeIdOf(doomed);
      const copies = () => r.hlen(`pipit:wills:${doomedId}`);
      await waitFor(async () => (await copies()) === onD.length, 10_000, 'D’s copies of the wills');
      const survivorId = await nodeIdOf(survivor);
      await killNode(doomed);
      for (const client of onD) client.end(true);

      // V removes D and schedules both wills (its log says so).
      await waitFor(
        () =>
          (survivor.output().match(/sending the will of a client of a node that died/g) ?? [])
            .length === onD.length,
        15_000,
        'V to take D’s wills',
      );
      if (shared) {
        // tw-back resumes its session on V (adopted from D): its will is cancelled. It leaves
        // with a normal DISCONNECT and no will of its own.
        const { will: _will, ...withoutWill } = back;
        const resumed = await connectAdopted(survivor.url, withoutWill);
        assert.equal(resumed.sessionPresent, true, 'tw-back resumes its session on V');
        await endClient(resumed.client);
      }

      let watcher: CollectingClient | undefined;
      const startW = (options: BrokerOptions = {}) =>
        shared ? startSharedNode(redis, options) : startNode(redis, options);
      if (!claims) {
        last = await startW();
        watcher = await connectCollecting(last.url, { protocolVersion: 5 });
        await watcher.client.subscribeAsync('tw/#', { qos: 1, rap: true });
      }
      // Neither will was sent yet (a sent one would be retained; with --memory, on V only: a
      // will V sent would never reach W's watcher): V dies with one pending.
      assert.deepEqual(watcher?.messages ?? [], [], 'no will was sent before V died');
      if (shared) assert.equal(await r.hexists('pipit:{r}:m', 'tw/tw-pending'), 0);
      await killNode(survivor);
      if (claims) {
        const lease = `pipit:node:${survivorId}`;
        await waitFor(async () => (await r.exists(lease)) === 0, 10_000, 'V’s lease to expire');
        last = await startW({ cluster: { url: redis.url, nodeId: survivorId } });
        watcher = await connectCollecting(last.url, { protocolVersion: 5 });
        await watcher.client.subscribeAsync('tw/#', { qos: 1, rap: true });
      }
      try {
        // Retained: a watcher that subscribed after it was sent gets it too.
        await waitFor(() => watcher!.messages.length >= 1, 30_000, 'the pending will, from W');
        const [got] = watcher!.messages;
        assert.equal(got!.topic, 'tw/tw-pending');
        assert.equal(got!.payload, 'will of tw-pending');
        assert.equal(got!.packet.qos, 1);
        assert.equal(got!.packet.retain, true);
        const properties = got!.packet.properties ?? {};
        const expected = pending.will!.properties!;
        assert.equal(properties.payloadFormatIndicator, true);
        assert.equal(properties.contentType, expected.contentType);
        assert.equal(properties.responseTopic, expected.responseTopic);
        assert.deepEqual(properties.correlationData, expected.correlationData);
        assert.deepEqual({ ...properties.userProperties }, expected.userProperties);
        if (shared) assert.equal(await r.hexists('pipit:{r}:m', 'tw/tw-pending'), 1, 'retained');
        const expiry = properties.messageExpiryInterval ?? 0;
        assert.ok(expiry > 0 && expiry <= 3600, `message expiry ${expiry}`);
        // Sent: no record of it is left to send it again; the cancelled one is not waiting.
        await waitFor(
          async () => (await r.keys('pipit:*wills:*')).length === 0,
          10_000,
          'no will record left in Redis',
        );
        assert.equal(last!.broker.core.wills.has('tw-back'), false, 'tw-back’s will not waiting');
        assert.deepEqual(
          watcher!.messages.map((m) => m.topic),
          ['tw/tw-pending'],
          'the cancelled will is not sent',
        );
      } finally {
        await endClient(watcher!.client);
      }
    });
  });
}

/** The node id of a CLI node, read from its log. */
async function nodeIdOf(node: CliNode): Promise<number> {
  await waitFor(() => /"nodeId":\d+/.test(node.output()), 10_000, 'the node id in the log');
  return Number(node.output().match(/"nodeId":(\d+)/)![1]);
}

/**
 * Connects `options` to `url` once its session is adopted there (until then the client is
 * refused with 0x88 while its dead node's sessions are recovered).
 */
async function connectAdopted(url: string, options: IClientOptions): Promise<CollectingClient> {
  let connected: CollectingClient | undefined;
  await waitFor(
    async () => {
      connected = await connectCollecting(url, options).catch(() => undefined);
      return connected !== undefined;
    },
    15_000,
    `${options.clientId} to connect again`,
  );
  return connected!;
}
