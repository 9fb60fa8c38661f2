/**
 * The comparison's `pipit-base` broker: another build of Pipit, named by PIPIT_BASE_MAIN, for
 * a before/after in one run.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { type BrokerProcess, startBroker } from '../../bench/harness/brokers.js';
import { MATRIX } from '../../bench/harness/matrix.js';
import { repoRoot } from '../client/brokers.js';
import { RawClient } from '../helpers/raw-client.js';

describe('bench: the pipit-base variant', () => {
  const saved = process.env.PIPIT_BASE_MAIN;
  afterEach(() => {
    if (saved === undefined) delete process.env.PIPIT_BASE_MAIN;
    else process.env.PIPIT_BASE_MAIN = saved;
  });

  it('without PIPIT_BASE_MAIN: refused, naming the variable', async () => {
    delete process.env.PIPIT_BASE_MAIN;
    await assert.rejects(startBroker('pipit-base', { cwd: repoRoot }), /PIPIT_BASE_MAIN/);
  });

  it('runs the build PIPIT_BASE_MAIN names: a broker that accepts an MQTT connection', async () => {
    process.env.PIPIT_BASE_MAIN = join(repoRoot, 'dist', 'cli', 'main.js');
    let proc: BrokerProcess | undefined;
    try {
      proc = await startBroker('pipit-base', { cwd: repoRoot });
      assert.equal(proc.name, 'pipit-base');
      // Resolves only on CONNACK 0x00.
      const client = await RawClient.connected(proc.port, 4, 'base-variant');
      assert.ok(client.isOpen);
      client.destroy();
    } finally {
      await proc?.stop();
    }
  });
});

describe('bench: the latency fan-in scenarios', () => {
  it('the comparison has fan-in 8→1 at 10k msg/s at QoS 0 and 1 as latency scenarios', () => {
    for (const qos of [0, 1] as const) {
      const sc = MATRIX.find((s) => s.id === `latency-fanin-q${qos}`);
      assert.ok(sc, `latency-fanin-q${qos}`);
      assert.equal(sc.kind, 'latency');
      assert.deepEqual(sc.options, { scenario: 'fanin', count: 8, qos, rate: 10_000 });
    }
  });
});
