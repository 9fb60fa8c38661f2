/**
 * The load generator's engine against a real Mosquitto (and Aedes in-process): short runs
 * must deliver every message exactly once, in order. Counts are asserted, never timing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BrokerProcess } from '../../bench/harness/brokers.js';
import { type BenchOptions, type BenchResult, runBench } from '../../src/bench/index.js';
import { startAedes, startMosquitto } from '../client/brokers.js';

let broker: BrokerProcess;
before(async () => {
  broker = await startMosquitto();
});
after(() => broker.stop());

function run(o: Omit<BenchOptions, 'port'>): Promise<BenchResult> {
  return runBench({ durationMs: 1000, warmupMs: 200, ...o, port: broker.port });
}

/** Every message sent reached every subscriber meant to get it, once and in order. */
function assertExact(r: BenchResult, fanFactor = 1): void {
  assert.equal(r.lost, 0, 'lost');
  assert.equal(r.duplicated, 0, 'duplicated');
  assert.equal(r.outOfOrder, 0, 'out of order');
  assert.equal(r.errors, 0, 'errors');
  assert.ok(r.sent > 0 && r.delivered > 0, 'messages flowed while measuring');
  assert.ok(r.deliveredPerSec > 0);
  assert.equal(r.totalDelivered, r.totalSent * fanFactor, 'all delivered after the drain');
}

describe('engine against mosquitto', { timeout: 60_000 }, () => {
  for (const qos of [0, 1, 2] as const) {
    test(`fanin 4→1 at QoS ${qos}: nothing lost, duplicated or reordered`, async () => {
      const r = await run({ scenario: 'fanin', count: 4, qos });
      assertExact(r);
      assert.equal(r.publishers, 4);
      assert.equal(r.subscribers, 1);
      assert.ok(r.latency.count > 0 && r.latency.p50 > 0);
    });
  }

  for (const qos of [0, 1, 2] as const) {
    test(`pairs ×5 at QoS ${qos} over MQTT 5: exact`, async () => {
      const r = await run({ scenario: 'pairs', count: 5, qos, protocolVersion: 5 });
      assertExact(r);
      assert.equal(r.protocolVersion, 5);
    });
  }

  test('fanout 1→5 at QoS 1: every subscriber gets every message', async () => {
    const r = await run({ scenario: 'fanout', count: 5, qos: 1 });
    assertExact(r, 5);
  });

  test('fixed rate with a large payload: exact, and never more than the rate allows', async () => {
    const r = await run({ scenario: 'pairs', count: 2, qos: 1, rate: 2000, payloadSize: 4096 });
    assertExact(r);
    // The rate driver credits floor(elapsed * rate), so it cannot run ahead of the schedule.
    assert.ok(r.totalSent <= Math.ceil(2000 * (r.seconds + 0.2 + 0.1)) + 2, `${r.totalSent}`);
  });

  test('spin pace: each publisher at its own staggered time, exact, never ahead of the rate', async () => {
    const r = await run({ scenario: 'fanin', count: 4, qos: 1, rate: 2000, pace: 'spin' });
    assertExact(r);
    assert.equal(r.pace, 'spin');
    // Publisher i's schedule is shifted by i/4 of its period: still floor-credited, so the
    // total stays within the rate (+1 per publisher for the shift).
    assert.ok(r.totalSent <= Math.ceil(2000 * (r.seconds + 0.2 + 0.1)) + 4 + 2, `${r.totalSent}`);
    assert.ok(r.totalSent > 0 && r.latency.count > 0);
  });

  test('a window of 3 with 4 KiB payloads: the ring of encoded messages wraps and stays exact', async () => {
    // Each publisher reuses 3 encoded slots; batches that cross the ring's end go out as two
    // writes. A slot patched before its previous message left would show up as a gap or a
    // reordering here.
    const r = await run({ scenario: 'pairs', count: 3, qos: 1, window: 3, payloadSize: 4096 });
    assertExact(r);
    assert.ok(r.totalSent > 3 * 3, `the ring wrapped: ${r.totalSent} sent`);
  });

  test('a window too large for a ring (8 MiB) falls back to a buffer per batch, exact', async () => {
    const r = await run({ scenario: 'fanin', count: 2, qos: 0, window: 2100, payloadSize: 4096 });
    assertExact(r);
  });

  test('conn with onHalfConnected: opens in two halves and reports the first', async () => {
    const seen: number[] = [];
    const r = await runBench({
      scenario: 'conn',
      count: 201,
      durationMs: 50,
      port: broker.port,
      onHalfConnected: (established) => {
        seen.push(established);
      },
    });
    assert.deepEqual(seen, [100], 'called once, after the first half (floor of 201 / 2)');
    assert.equal(r.connections?.established, 201);
    assert.equal(r.connections?.failed, 0);
  });

  test('conn: opens, holds and closes the requested connections; connect latency of each', async () => {
    let hookRuns = 0;
    let heldConnections = 0;
    const r = await runBench({
      scenario: 'conn',
      count: 300,
      durationMs: 100,
      port: broker.port,
      onMeasureStart: () => {
        hookRuns++;
      },
      onProgress: (p) => {
        if (p.phase === 'hold') heldConnections = Math.max(heldConnections, p.connections);
      },
    });
    assert.equal(r.connections?.requested, 300);
    assert.equal(r.connections?.established, 300);
    assert.equal(r.connections?.failed, 0);
    assert.equal(r.errors, 0, 'none dropped while held');
    assert.ok((r.connections?.connectsPerSec ?? 0) > 0);
    assert.equal(r.latency.count, 300, 'one connect latency per connection');
    assert.ok(r.latency.p50 > 0 && r.latency.p50 <= r.latency.p99);
    assert.ok(r.latency.p99 <= r.latency.max);
    assert.equal(hookRuns, 1);
    assert.equal(heldConnections, 300);
  });

  test('a refused port fails the run instead of hanging', async () => {
    await assert.rejects(runBench({ scenario: 'pairs', count: 1, port: 1, durationMs: 100 }));
  });
});

test('engine against Aedes in-process: fanin QoS 1 is exact', { timeout: 30_000 }, async () => {
  const aedes = await startAedes();
  try {
    const r = await runBench({
      scenario: 'fanin',
      count: 3,
      qos: 1,
      port: aedes.port,
      durationMs: 800,
      warmupMs: 100,
    });
    assertExact(r);
  } finally {
    await aedes.stop();
  }
});
