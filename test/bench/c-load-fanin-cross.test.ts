/**
 * mqtt-load's fanin mode with the subscriber on another broker (`--sub-port`, `--sub-host`):
 * publishers on one Pipit cluster node, the subscriber on the other, over a real
 * redis-server (what bench/cluster.bench.ts's `cross-latency-c-*` rows run). Every message
 * crosses the nodes and must arrive exactly once and in order; counts are asserted, never
 * time.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../bench/harness/brokers.js';
import { faninArgs, runCFanin } from '../../bench/harness/c-load-fanin.js';
import type { BenchOptions } from '../../src/bench/index.js';
import { TwoNodes } from '../cluster/cluster-nodes.js';
import { cLoadBinary } from './c-load-binary.js';

let binary: string;

before(() => {
  binary = cLoadBinary();
});

/** mqtt-load's exit code and stderr for `args`. */
function runTool(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(binary, args, (err, _out, stderr) =>
      resolve({ code: Number((err as { code?: number } | null)?.code ?? 0), stderr }),
    );
  });
}

describe('mqtt-load fanin across two Pipit cluster nodes (publishers on A, subscriber on B)', {
  timeout: 60_000,
}, () => {
  let nodes: TwoNodes;
  before(async () => {
    nodes = await TwoNodes.start();
  });
  after(() => nodes.stop());

  // QoS 0 sleeping to each due time (`--spin-us 0`, as bench:cluster runs it), QoS 1 polling
  // (the tool's default, as `npm run bench` runs it).
  for (const [qos, version, spinUs] of [
    [0, 4, 0],
    [1, 5, undefined],
  ] as const) {
    it(`QoS ${qos}, MQTT ${version === 5 ? '5.0' : '3.1.1'}, --spin-us ${spinUs ?? 'default'}: every message crosses once, in order`, async () => {
      const { a, b } = nodes;
      let connected: [number, number] | undefined;
      const inbox0 = b.broker.cluster!.status().inbox.received;
      // 4 publishers at 2,000 msg/s in all: 0.2 s warm-up + 1 s measured = 2,400 messages.
      const { run, result } = await runCFanin(
        binary,
        { publishers: 4, rate: 2000, qos, spinUs },
        {
          scenario: 'fanin',
          port: a.port,
          publisherPorts: [a.port],
          subscriberPorts: [b.port],
          protocolVersion: version,
          warmupMs: 200,
          durationMs: 1000,
          onMeasureStart: () => {
            connected = [
              a.broker.core.metrics.connectionsCurrent,
              b.broker.core.metrics.connectionsCurrent,
            ];
          },
        },
      );
      assert.deepEqual(connected, [4, 1], 'the four publishers on A, the subscriber on B');
      assert.equal(run.firstError, '', run.firstError);
      assert.deepEqual([run.port, run.subPort], [a.port, b.port]);
      assert.equal(run.spinUs, spinUs ?? 2000);
      assert.equal(run.totalSent, 2400);
      assert.equal(run.totalDelivered, 2400);
      assert.equal(run.lost + run.duplicated + run.outOfOrder, 0);
      assert.equal(run.skipped + run.errors, 0);
      assert.equal(run.latency.count, run.sent, 'every message sent while measuring was timed');
      assert.equal(result.port, a.port);
      assert.ok(
        b.broker.cluster!.status().inbox.received > inbox0,
        'the messages came through B’s inbox',
      );
    });
  }
});

describe('mqtt-load fanin --sub-host / --sub-port: command line', () => {
  it('--sub-port 0 and a missing value: exit 2, named', async () => {
    const zero = await runTool(['fanin', '--sub-port', '0']);
    assert.equal(zero.code, 2);
    assert.match(zero.stderr, /--sub-port needs a number from 1 to 65535, got "0"/);
    const missing = await runTool(['fanin', '--sub-port']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--sub-port needs a number from 1 to 65535, got ""/);
  });

  it('--spin-us below 0: exit 2, named', async () => {
    const r = await runTool(['fanin', '--spin-us', '-1']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--spin-us needs a number from 0 to 1e\+06, got "-1"/);
  });

  it('--sub-host that is not an IPv4 address: exit 2, named', async () => {
    const r = await runTool(['fanin', '--sub-host', 'localhost']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--sub-host needs an IPv4 address, got "localhost"/);
  });

  it('a subscriber port nobody listens on: exit 1 before any message, the address named', async () => {
    const port = await freePort();
    const r = await runTool(['fanin', '--port', '1', '--sub-port', String(port)]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`mlf-[0-9a-f]+-s: connect to 127\\.0\\.0\\.1:${port}: Connection refused`),
    );
  });

  it('the harness passes the placement on, and refuses what mqtt-load cannot do', () => {
    const o: BenchOptions = {
      scenario: 'fanin',
      port: 1000,
      publisherPorts: [1001],
      subscriberPorts: [1002],
    };
    const args = faninArgs(o, { publishers: 2, rate: 100, qos: 0 });
    assert.deepEqual(
      [args[args.indexOf('--port') + 1], args[args.indexOf('--sub-port') + 1]],
      ['1001', '1002'],
    );
    const same = faninArgs({ scenario: 'fanin', port: 1000 }, { publishers: 2, rate: 100, qos: 0 });
    assert.equal(same[same.indexOf('--sub-port') + 1], '1000', 'on one node: the same port');
    assert.throws(
      () => faninArgs({ ...o, publisherPorts: [1001, 1002] }, { publishers: 2, rate: 100, qos: 0 }),
      /mqtt-load fanin takes one port for publisherPorts, got 1001,1002/,
    );
  });
});
