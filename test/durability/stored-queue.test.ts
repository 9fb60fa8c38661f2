/**
 * Offline queues live in the store, not in the heap: a persistent session's queued messages
 * are written to SQLite and only a page is read back while the client drains them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import mqtt from 'mqtt';
import { connectClient, endClient, startBroker, waitFor } from '../helpers/broker.js';

const QUEUED = 20_000;

describe('durability: stored offline queues', () => {
  it(`${QUEUED} messages queued for an offline session are held by the store, not in memory, and all arrive in order`, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pipit-queue-'));
    const tb = await startBroker({
      persistence: { kind: 'sqlite', dataDir, durability: 'none' },
      maxQueuedMessages: QUEUED * 2,
    });
    try {
      const sub = await connectClient(tb.url, {
        clientId: 'q-sub',
        clean: false,
        protocolVersion: 4,
      });
      await sub.subscribeAsync('q/#', { qos: 1 });
      await endClient(sub);
      await waitFor(async () => (await tb.broker.admin.session('q-sub'))?.connected === false);
      for (let i = 0; i < QUEUED; i++) {
        await tb.broker.publish({ topic: 'q/t', payload: String(i), qos: 1 });
      }
      assert.equal((await tb.broker.admin.session('q-sub'))?.queuedMessages, QUEUED);
      // Nothing of the queue is held in memory while the client is away (the engine's own view).
      const session = tb.broker.core.sessions.get('q-sub')!;
      assert.equal(session.queuedDeliveries().length, 0);

      const got: number[] = [];
      // The listener is attached before CONNACK: the queue follows it in the same bytes.
      const back = mqtt.connect(tb.url, {
        clientId: 'q-sub',
        clean: false,
        protocolVersion: 4,
        reconnectPeriod: 0,
      });
      back.on('message', (_t, payload) => got.push(Number(payload.toString())));
      await waitFor(() => got.length >= QUEUED, 60_000, `${QUEUED} queued messages`).catch(
        (e: Error) => {
          throw new Error(`${e.message}: got ${got.length}, queued ${session.queuedCount}`);
        },
      );
      assert.deepEqual(got.slice(0, 5), [0, 1, 2, 3, 4]);
      assert.ok(
        got.every((n, i) => n === i),
        'in publish order, once each',
      );
      // While draining, at most a page was held in memory at a time; now nothing is queued.
      assert.equal(session.queuedCount, 0);
      await endClient(back);
    } finally {
      await tb.close();
    }
  });
});
