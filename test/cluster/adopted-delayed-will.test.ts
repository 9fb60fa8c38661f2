/**
 * A delayed will waiting on a node that dies (issue #11: survivors publish the wills of its
 * clients, with will delay). A client that disconnected from the node with a Will Delay
 * Interval left its will waiting there; the node wrote it in the shared store with its due
 * time. The survivor that adopts the client's session puts the will back: it is sent once it
 * falls due [MQTT-3.1.3-9], and not at all when the client connects again before that. The
 * node's verdict on the will (its ACL, at CONNECT) is stored with it: a survivor with no rule
 * for the client follows it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IClientOptions } from 'mqtt';
import { decodeWill, encodeWill } from '../../src/storage/redis/redis-codec.js';
import { connectClient, endClient, type TestBroker, waitFor } from '../helpers/broker.js';
import { capturingLogger } from '../helpers/capturing-logger.js';
import { type CliNode, killNode, startCliNode } from './cli-node.js';
import { connectCollecting, startSharedNode } from './cluster-nodes.js';
import { delayedWillClient } from './cluster-test-values.js';
import { RedisFixture } from './redis-fixture.js';

describe('cluster: a delayed will waiting on a node that dies', () => {
  let redis: RedisFixture;
  let survivor: TestBroker & { nodeId: number };
  const doomed: CliNode[] = [];
  const warnings: string[] = [];

  before(async () => {
    redis = await RedisFixture.start();
    survivor = await startSharedNode(redis, { logger: capturingLogger(warnings, ['warn']) });
    // The survivor's rules do not know the clients `dv-*` of the nodes that die (as
    // `pipit broker` does not know a listener it does not have): every hook defers them, and
    // the verdict their node stored with the will decides. Others are allowed, as without.
    survivor.broker.addHook({
      name: 'unknown-listener',
      authorizePublish: (client) => (client.clientId.startsWith('dv-') ? 'defer' : 'allow'),
    });
  });

  after(async () => {
    for (const node of doomed) await killNode(node);
    await survivor?.close();
    await redis?.stop();
  });

  /**
   * Starts a node, connects `options` there and drops the connection without DISCONNECT (its
   * will starts waiting, written in the store with its due time), then kills the node.
   */
  async function dieWithWaitingWill(
    options: IClientOptions,
    acl?: string,
    beforeKill?: (record: Buffer) => Promise<void>,
  ): Promise<Buffer> {
    const dir = mkdtempSync(join(tmpdir(), 'pipit-dw-'));
    const file = join(dir, 'pipit.yaml');
    let config = `cluster:\n  url: ${redis.url}\n  leaseMs: 1000\n  heartbeatMs: 100\n`;
    if (acl !== undefined) {
      writeFileSync(join(dir, 'rules.acl'), acl);
      config += `auth:\n  allowAnonymous: true\n  aclFile: ${join(dir, 'rules.acl')}\n`;
    }
    writeFileSync(file, config);
    const node = await startCliNode(redis.url, ['-c', file]);
    doomed.push(node);
    const client = await connectClient(node.url, options);
    const stored = (): Promise<Buffer | null> =>
      redis.redis.hgetBuffer('pipit:wills', options.clientId!);
    await waitFor(async () => (await stored()) !== null, 10_000, 'the will in the store');
    const whileConnected = (await stored())!;
    client.stream.destroy(); // no DISCONNECT: the will waits its delay
    await endClient(client, true);
    let waiting: Buffer | null = null;
    await waitFor(
      async () => {
        waiting = await stored();
        return waiting !== null && !waiting.equals(whileConnected);
      },
      10_000,
      'the waiting will, with its due time, in the store',
    );
    await beforeKill?.(waiting!);
    await killNode(node);
    return waiting!;
  }

  it('is sent by the survivor that adopts the session, once, when its delay has passed [MQTT-3.1.3-9]', async () => {
    const watcher = await connectCollecting(survivor.url, { protocolVersion: 5 });
    try {
      await watcher.client.subscribeAsync('dw/#', { qos: 1 });
      await dieWithWaitingWill(delayedWillClient('dw-late', 2));
      await waitFor(() => watcher.messages.length >= 1, 30_000, 'the will, from the survivor');
      assert.equal(watcher.messages[0]!.payload, 'will of dw-late');
      // Sent and gone: no copy waits anywhere to be sent again.
      await waitFor(
        async () => (await redis.redis.hexists('pipit:wills', 'dw-late')) === 0,
        10_000,
        'the stored will to be deleted',
      );
      assert.equal(survivor.broker.core.wills.has('dw-late'), false);
      assert.deepEqual(
        watcher.messages.map((m) => m.payload),
        ['will of dw-late'],
      );
    } finally {
      await endClient(watcher.client);
    }
  });

  it('is not sent when the client connects again before its delay passed [MQTT-3.1.3-9]', async () => {
    const watcher = await connectCollecting(survivor.url, { protocolVersion: 5 });
    try {
      await watcher.client.subscribeAsync('dw/#', { qos: 1 });
      await dieWithWaitingWill(delayedWillClient('dw-back', 120));
      await waitFor(
        () => survivor.broker.core.wills.has('dw-back'),
        30_000,
        'the survivor to adopt the session and its waiting will',
      );
      const back = await connectCollecting(survivor.url, delayedWillClient('dw-back', 120));
      assert.equal(back.sessionPresent, true);
      assert.equal(survivor.broker.core.wills.has('dw-back'), false, 'the waiting will dropped');
      await endClient(back.client); // a normal DISCONNECT: this connection's will goes too
      await waitFor(
        async () => (await redis.redis.hexists('pipit:wills', 'dw-back')) === 0,
        10_000,
        'the stored will to be deleted',
      );
      assert.deepEqual(watcher.messages, []);
    } finally {
      await endClient(watcher.client);
    }
  });

  it('[MQTT-3.1.2-8] is sent on the dead node’s verdict by a survivor with no rule for its client, and not when that node’s ACL denied it', async () => {
    const acl = 'topic readwrite dw/#\n';
    const watcher = await connectCollecting(survivor.url, { protocolVersion: 5 });
    try {
      await watcher.client.subscribeAsync(['dw/#', 'dx/#'], { qos: 1 });
      // A delay that outlasts the node: it must not send the will itself before it is killed.
      const allowed = await dieWithWaitingWill(delayedWillClient('dv-ok', 4), acl);
      assert.equal(decodeWill(allowed).verdict, 'allow');
      await waitFor(
        () => watcher.messages.some((m) => m.topic === 'dw/dv-ok'),
        30_000,
        'the allowed will, from the survivor',
      );
      const denied = delayedWillClient('dv-denied', 4);
      denied.will = { ...denied.will!, topic: 'dx/dv-denied' };
      assert.equal(decodeWill(await dieWithWaitingWill(denied, acl)).verdict, 'deny');
      const refused = survivor.broker.core.metrics.refused['publish-denied'];
      await waitFor(
        () => survivor.broker.core.metrics.refused['publish-denied'] > refused,
        30_000,
        'the denied will, refused by the survivor',
      );
      await waitFor(
        async () => (await redis.redis.hexists('pipit:wills', 'dv-denied')) === 0,
        10_000,
        'the refused will to be deleted from the store',
      );
      // What the survivor routed before reaches the watcher before a later message.
      const marker = await connectClient(survivor.url, { protocolVersion: 5 });
      await marker.publishAsync('dw/marker', 'after', { qos: 1 });
      await waitFor(() => watcher.messages.some((m) => m.topic === 'dw/marker'), 5000, 'marker');
      await endClient(marker);
      assert.deepEqual(
        watcher.messages.map((m) => m.topic),
        ['dw/dv-ok', 'dw/marker'],
      );
    } finally {
      await endClient(watcher.client);
    }
  });

  it('a delayed will stored without a verdict (by an older node) is not sent by such a survivor, and is logged', async () => {
    const watcher = await connectCollecting(survivor.url, { protocolVersion: 5 });
    try {
      await watcher.client.subscribeAsync('dw/#', { qos: 1 });
      const refused = survivor.broker.core.metrics.refused['publish-denied'];
      // The record as a node without verdicts wrote it, before the node dies.
      await dieWithWaitingWill(
        delayedWillClient('dv-old', 4),
        'topic readwrite dw/#\n',
        async (record) => {
          const { verdict: _verdict, ...old } = decodeWill(record);
          await redis.redis.hset('pipit:wills', 'dv-old', encodeWill(old));
        },
      );
      await waitFor(
        () => survivor.broker.core.metrics.refused['publish-denied'] > refused,
        30_000,
        'the will without a verdict, refused by the survivor',
      );
      assert.ok(
        warnings.some((w) =>
          /a delayed will of an adopted session waits here, without its node’s verdict/.test(w),
        ),
        warnings.join('\n'),
      );
      const marker = await connectClient(survivor.url, { protocolVersion: 5 });
      await marker.publishAsync('dw/marker', 'after', { qos: 1 });
      await waitFor(() => watcher.messages.some((m) => m.topic === 'dw/marker'), 5000, 'marker');
      await endClient(marker);
      assert.deepEqual(
        watcher.messages.map((m) => m.topic),
        ['dw/marker'],
      );
    } finally {
      await endClient(watcher.client);
    }
  });
});
