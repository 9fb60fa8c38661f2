/**
 * The bench pieces of issue #17: the `pipit-base` broker (a saved build, for before/after in
 * one run) and the fixed-rate fan-in scenarios of the comparison.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { type BrokerProcess, ensurePipitBuilt, startBroker } from '../../bench/harness/brokers.js';
import { MATRIX } from '../../bench/harness/matrix.js';
import { repoRoot } from '../client/brokers.js';

describe('bench: the pipit-base variant and the latency fan-in scenarios', () => {
  const saved = process.env.PIPIT_BASE;
  after(() => {
    if (saved === undefined) delete process.env.PIPIT_BASE;
    else process.env.PIPIT_BASE = saved;
  });

  it('pipit-base runs the compiled Pipit that PIPIT_BASE names, which clients can use', async () => {
    ensurePipitBuilt(repoRoot);
    process.env.PIPIT_BASE = join(repoRoot, 'dist', 'cli', 'main.js');
    let proc: BrokerProcess | undefined;
    try {
      proc = await startBroker('pipit-base', { cwd: repoRoot });
      const cmdline = execFileSync('cat', [`/proc/${proc.pid}/cmdline`], { encoding: 'utf8' });
      assert.ok(cmdline.includes(process.env.PIPIT_BASE), cmdline);
      const client = await mqtt.connectAsync(`mqtt://${proc.host}:${proc.port}`);
      await client.subscribeAsync('base/t');
      const got = new Promise<string>((resolve) =>
        client.once('message', (_t, payload) => resolve(payload.toString())),
      );
      await client.publishAsync('base/t', 'hello');
      assert.equal(await got, 'hello');
      await client.endAsync();
    } finally {
      await proc?.stop();
    }
  });

  it('pipit-base names the missing build when PIPIT_BASE points nowhere', async () => {
    process.env.PIPIT_BASE = join(repoRoot, '.tmp', 'no-such-build', 'main.js');
    await assert.rejects(
      startBroker('pipit-base', { cwd: repoRoot, startTimeoutMs: 10_000 }),
      /pipit-base: broker exited during start-up[\s\S]*no-such-build/,
    );
  });

  it('the comparison has fan-in 8→1 at 10k msg/s at QoS 0 and 1 as latency scenarios', () => {
    for (const qos of [0, 1] as const) {
      const sc = MATRIX.find((s) => s.id === `latency-fanin-q${qos}`);
      assert.ok(sc, `latency-fanin-q${qos}`);
      assert.equal(sc.kind, 'latency');
      assert.deepEqual(sc.options, { scenario: 'fanin', count: 8, qos, rate: 10_000 });
    }
  });
});
