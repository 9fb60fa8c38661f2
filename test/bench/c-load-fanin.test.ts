/**
 * mqtt-load (bench/tools/mqtt-load) in fanin mode: P publishers -> 1 subscriber at a fixed
 * total rate, against a real Pipit (in process) and a real Mosquitto. Every message sent
 * must arrive exactly once and in order; counts are asserted, never time.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import {
  type BrokerProcess,
  startBroker as startBenchBroker,
} from '../../bench/harness/brokers.js';
import { C_GENERATOR } from '../../bench/harness/c-load.js';
import {
  CLIENT_BOUND_LAG_P99_MS,
  type FaninPlan,
  runCFanin,
} from '../../bench/harness/c-load-fanin.js';
import { type ComparisonScenario, MATRIX } from '../../bench/harness/matrix.js';
import { runSample } from '../../bench/harness/runner.js';
import type { BenchOptions } from '../../src/bench/index.js';
import { repoRoot, startAedes, startMosquitto } from '../client/brokers.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { cLoadBinary } from './c-load-binary.js';

let binary: string;

before(() => {
  binary = cLoadBinary();
});

/** 4 publishers at 2,000 msg/s in all: 0.2 s warm-up + 1 s measured = 2,400 messages. */
async function fanin(port: number, qos: 0 | 1, o: Partial<BenchOptions> = {}) {
  const plan: FaninPlan = { publishers: 4, rate: 2000, qos };
  const calls: string[] = [];
  const out = await runCFanin(binary, plan, {
    scenario: 'fanin',
    port,
    warmupMs: 200,
    durationMs: 1000,
    onMeasureStart: () => {
      calls.push('start');
    },
    onMeasureEnd: () => {
      calls.push('end');
    },
    ...o,
  });
  return { ...out, calls };
}

/** Every message arrived once, in order; the figures add up. */
function assertExact(r: Awaited<ReturnType<typeof fanin>>, qos: 0 | 1): void {
  const { run, result, calls } = r;
  assert.deepEqual(calls, ['start', 'end'], 'the measure hooks ran once each, in order');
  assert.equal(run.firstError, '', run.firstError);
  assert.equal(run.totalSent, 2400);
  assert.equal(run.totalDelivered, 2400);
  assert.equal(run.lost + run.duplicated + run.outOfOrder, 0);
  assert.equal(run.skipped + run.errors, 0);
  assert.equal(run.writes, 2400, 'one message per write');
  assert.ok(run.sent > 0 && run.sent <= 2400);
  assert.equal(run.latency.count, run.sent, 'every message sent while measuring was timed');
  assert.equal(run.lag.count, 2400);
  assert.equal(run.qos, qos);
  assert.equal(result.lost, 0);
  assert.equal(result.errors, 0);
  assert.equal(result.publishers, 4);
  assert.equal(result.packetsPerWrite, 1);
  assert.ok(result.latency.p99 >= result.latency.p50);
}

describe('mqtt-load fanin against Pipit', { timeout: 60_000 }, () => {
  let pipit: TestBroker;
  let closed: TestBroker;
  before(async () => {
    pipit = await startBroker();
    closed = await startBroker({ allowAnonymous: false });
  });
  after(async () => {
    await pipit.close();
    await closed.close();
  });

  it('QoS 0, MQTT 3.1.1: every message once and in order', async () => {
    assertExact(await fanin(pipit.port, 0), 0);
  });

  it('QoS 1, MQTT 5.0: every message once and in order, each acknowledged', async () => {
    assertExact(await fanin(pipit.port, 1, { protocolVersion: 5 }), 1);
  });

  it('the send lag: one per message sent, its summary well-formed, and it decides clientBound', async () => {
    const { run, result } = await fanin(pipit.port, 0);
    const lag = run.lag;
    assert.equal(lag.count, run.totalSent, 'one lag per message sent, warm-up included');
    assert.ok(lag.p50 >= 0 && lag.p50 <= lag.p90 && lag.p90 <= lag.p99 && lag.p99 <= lag.max);
    assert.ok(lag.mean >= 0 && lag.mean <= lag.max);
    // The run's own delay, not its CPU (~100%: it polls its core near each due time).
    assert.equal(result.clientBound, lag.p99 > CLIENT_BOUND_LAG_P99_MS);
    assert.equal(result.cpu.percent, run.cpu.percent);
  });

  it('a refused CONNECT ends the run with the reason, and the harness says so', async () => {
    await assert.rejects(
      fanin(closed.port, 0),
      /mqtt-load fanin failed \(exit 1\): mqtt-load: mlf-[0-9a-f]+-s: CONNACK refused with code 0x05/,
    );
  });
});

describe('mqtt-load fanin against Mosquitto', { timeout: 60_000 }, () => {
  let mosquitto: BrokerProcess;
  before(async () => {
    mosquitto = await startMosquitto();
  });
  after(() => mosquitto.stop());

  it('QoS 0, MQTT 5.0: every message once and in order', async () => {
    assertExact(await fanin(mosquitto.port, 0, { protocolVersion: 5 }), 0);
  });

  it('QoS 1, MQTT 3.1.1: every message once and in order, each acknowledged', async () => {
    assertExact(await fanin(mosquitto.port, 1), 1);
  });

  it('a scenario with a fanin plan runs on mqtt-load, the broker sampled while measuring', async () => {
    const sc: ComparisonScenario = {
      id: 'latency-small',
      title: 'fan-in 4→1 at 2k msg/s',
      options: { scenario: 'fanin', count: 4, qos: 1, rate: 2000, pace: 'spin' },
      kind: 'latency',
      cLoad: { mode: 'fanin', publishers: 4, rate: 2000, qos: 1 },
    };
    const settings = { cwd: repoRoot, durationMs: 1000, warmupMs: 200, holdMs: 0, pin: false };
    const s = await runSample(sc, 'mosquitto', 'tcp', 1, {
      ...settings,
      batch: 1,
      cLoadBinary: binary,
    });
    assert.equal(s.error, undefined);
    assert.equal(s.generator, C_GENERATOR);
    assert.equal(s.result?.totalDelivered, 2400);
    assert.equal(s.skipped, 0);
    assert.equal(s.sendLag?.count, 2400);
    assert.ok(s.brokerCpuUsPerMsg !== undefined && s.brokerCpuPercent !== undefined);
  });
});

describe('mqtt-load fanin through node-relay, the bare Node floor (bench/brokers/node-relay.mjs)', {
  timeout: 60_000,
}, () => {
  let relay: BrokerProcess;
  before(async () => {
    relay = await startBenchBroker('node-relay', { cwd: repoRoot });
  });
  after(() => relay.stop());

  it('QoS 0, MQTT 3.1.1: every message once and in order', async () => {
    assertExact(await fanin(relay.port, 0), 0);
  });

  it('QoS 1, MQTT 5.0: every message once and in order, each acknowledged', async () => {
    assertExact(await fanin(relay.port, 1, { protocolVersion: 5 }), 1);
  });
});

describe('mqtt-load fanin against Aedes (MQTT 3.1.1)', { timeout: 60_000 }, () => {
  it('QoS 1: every message once and in order, each acknowledged', async () => {
    const aedes = await startAedes();
    try {
      assertExact(await fanin(aedes.port, 1), 1);
    } finally {
      await aedes.stop();
    }
  });
});

describe('mqtt-load fanin command line and scenarios', () => {
  it('--qos 2: exit 2, named', async () => {
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(binary, ['fanin', '--qos', '2'], (err, _out, stderr) =>
        resolve({ code: Number((err as { code?: number } | null)?.code ?? 0), stderr }),
      );
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--qos needs a number from 0 to 1, got "2"/);
  });

  it('latency-fanin-c-q0/q1: fan-in 8→1 at 10k msg/s on mqtt-load, the Node spin pace as fallback', () => {
    for (const qos of [0, 1] as const) {
      const sc = MATRIX.find((s) => s.id === `latency-fanin-c-q${qos}`);
      assert.equal(sc?.kind, 'latency');
      assert.deepEqual(sc?.cLoad, { mode: 'fanin', publishers: 8, rate: 10_000, qos });
      assert.deepEqual(sc?.options, {
        scenario: 'fanin',
        count: 8,
        qos,
        rate: 10_000,
        pace: 'spin',
      });
    }
  });
});
