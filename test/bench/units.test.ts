/**
 * The load generator's pure parts: payload header, latency histogram, sequence checks,
 * topologies, option validation, and the comparison's medians and Markdown section.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MATRIX } from '../../bench/harness/matrix.js';
import type { Sample } from '../../bench/harness/runner.js';
import {
  median,
  ratio,
  renderSection,
  replaceSection,
  summarize,
} from '../../bench/harness/summary.js';
import { LatencyHistogram } from '../../src/bench/histogram.js';
import { resolveOptions } from '../../src/bench/options.js';
import { PAYLOAD_HEADER_SIZE, readHeader, writeHeader } from '../../src/bench/payload.js';
import { formatResult } from '../../src/bench/report.js';
import { SequenceTracker } from '../../src/bench/sequence-tracker.js';
import { buildTopology, mapLimit } from '../../src/bench/topology.js';
import type { Transport } from '../../src/bench/transport.js';
import type { BenchResult } from '../../src/bench/types.js';
import { integrityFailed } from '../../src/cli/bench-outcome.js';

describe('payload header', () => {
  test('round-trips run tag, publisher, sequence and send time', () => {
    const buf = Buffer.alloc(40);
    writeHeader(buf, 8, 0xdeadbeef, 7, 123456, 987654321.5);
    assert.deepEqual(readHeader(buf.subarray(8)), {
      runTag: 0xdeadbeef,
      publisher: 7,
      seq: 123456,
      sentNs: 987654321.5,
    });
    assert.equal(readHeader(Buffer.alloc(PAYLOAD_HEADER_SIZE - 1)), undefined);
  });
});

describe('LatencyHistogram', () => {
  test('percentiles within 1% on a known distribution', () => {
    const h = new LatencyHistogram();
    for (let us = 1; us <= 100_000; us++) h.record(us);
    assert.equal(h.count, 100_000);
    const near = (got: number, want: number) =>
      assert.ok(Math.abs(got - want) / want < 0.01, `${got} vs ${want}`);
    near(h.percentile(50), 50_000);
    near(h.percentile(99), 99_000);
    assert.equal(h.summary().max, 100);
    near(h.summary().mean, 50.0005);
  });

  test('small values are exact, reset forgets, merge adds', () => {
    const a = new LatencyHistogram();
    a.record(3);
    a.record(3);
    a.record(200);
    assert.equal(a.percentile(50), 3.5);
    const b = new LatencyHistogram();
    b.record(10);
    b.merge(a);
    assert.equal(b.count, 4);
    a.reset();
    assert.equal(a.count, 0);
    assert.equal(a.percentile(99), 0);
  });
});

describe('SequenceTracker', () => {
  test('in-order messages: nothing lost, duplicated or reordered', () => {
    const t = new SequenceTracker();
    for (let s = 0; s < 100; s++) assert.equal(t.record(0, s), 1);
    assert.deepEqual(t.counts, { received: 100, duplicated: 0, outOfOrder: 0 });
    assert.equal(t.lost(0, 100), 0);
  });

  test('a gap counts as lost until the late message arrives out of order', () => {
    const t = new SequenceTracker();
    t.record(1, 0);
    assert.equal(t.record(1, 3), 3, 'settles the gap and itself');
    assert.equal(t.lost(1, 4), 2);
    assert.equal(t.record(1, 1), 0);
    assert.equal(t.lost(1, 4), 1);
    assert.equal(t.counts.outOfOrder, 1);
  });

  test('duplicates are counted, not received twice', () => {
    const t = new SequenceTracker();
    t.record(0, 0);
    t.record(0, 1);
    t.record(0, 1);
    t.record(0, 0);
    assert.equal(t.counts.duplicated, 2);
    assert.equal(t.counts.received, 2);
  });

  test('the tail that never came, and a publisher never heard from, are lost', () => {
    const t = new SequenceTracker();
    t.record(0, 0);
    assert.equal(t.lost(0, 10), 9);
    assert.equal(t.lost(5, 3), 3);
  });

  test('publishers are tracked independently', () => {
    const t = new SequenceTracker();
    t.record(0, 0);
    t.record(1, 0);
    t.record(0, 1);
    t.record(1, 1);
    assert.deepEqual(t.counts, { received: 4, duplicated: 0, outOfOrder: 0 });
  });
});

describe('topologies', () => {
  test('fanin: P topics, one wildcard subscriber hearing all of them', () => {
    const t = buildTopology('fanin', 3, 'x');
    assert.deepEqual(t.publisherTopics, ['x/in/0', 'x/in/1', 'x/in/2']);
    assert.deepEqual(t.subscriberFilters, ['x/in/+']);
    assert.deepEqual(t.sources, [[0, 1, 2]]);
    assert.equal(t.fanFactor, 1);
  });

  test('fanout: one topic, S subscribers, each message settles after S deliveries', () => {
    const t = buildTopology('fanout', 4, 'x');
    assert.deepEqual(t.publisherTopics, ['x/out']);
    assert.equal(t.subscriberFilters.length, 4);
    assert.equal(t.fanFactor, 4);
  });

  test('pairs: subscriber i hears publisher i only', () => {
    const t = buildTopology('pairs', 2, 'x');
    assert.deepEqual(t.sources, [[0], [1]]);
    assert.deepEqual(t.subscriberFilters, t.publisherTopics);
  });

  test('mapLimit keeps order and never exceeds its limit', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([1, 2, 3, 4, 5, 6], 2, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setImmediate(r));
      running--;
      return n * 10;
    });
    assert.deepEqual(out, [10, 20, 30, 40, 50, 60]);
    assert.equal(peak, 2);
  });
});

describe('options', () => {
  test('defaults per scenario', () => {
    const o = resolveOptions({ scenario: 'fanout' });
    assert.equal(o.count, 100);
    assert.equal(o.qos, 0);
    assert.equal(o.protocolVersion, 4);
    assert.equal(resolveOptions({ scenario: 'conn' }).count, 10_000);
  });

  test('impossible values are refused with the option name', () => {
    assert.throws(() => resolveOptions({ scenario: 'nope' as 'conn' }), /scenario/);
    assert.throws(() => resolveOptions({ scenario: 'pairs', qos: 3 as 0 }), /qos/);
    assert.throws(() => resolveOptions({ scenario: 'pairs', payloadSize: 4 }), /payloadSize/);
    assert.throws(() => resolveOptions({ scenario: 'pairs', rate: -1 }), /rate/);
    assert.throws(
      () => resolveOptions({ scenario: 'pairs', pace: 'spin' }),
      /pace spin .* needs rate/,
    );
    assert.throws(
      () => resolveOptions({ scenario: 'pairs', rate: 10, pace: 'busy' as 'spin' }),
      /pace must be timer or spin/,
    );
    assert.throws(() => resolveOptions({ scenario: 'pairs', count: 0 }), /count/);
    // Below the 20000 open files a process may have, with room for the process's own.
    assert.throws(() => resolveOptions({ scenario: 'conn', count: 19_501 }), /19500 connections/);
    assert.throws(() => resolveOptions({ scenario: 'pairs', count: 9751 }), /19500 connections/);
    assert.equal(resolveOptions({ scenario: 'conn', count: 19_500 }).count, 19_500);
  });
});

describe('bench exit status', () => {
  const base = { qos: 0, lost: 0, duplicated: 0, outOfOrder: 0 } as BenchResult;
  test('QoS 0 may lose, QoS 1 may duplicate; nothing may be reordered', () => {
    assert.equal(integrityFailed({ ...base, lost: 5 }), false);
    assert.equal(integrityFailed({ ...base, qos: 1, duplicated: 5 }), false);
    assert.equal(integrityFailed({ ...base, qos: 1, lost: 1 }), true);
    assert.equal(integrityFailed({ ...base, qos: 2, duplicated: 1 }), true);
    assert.equal(integrityFailed({ ...base, outOfOrder: 1 }), true);
  });
});

describe('bench report', () => {
  const result = {
    scenario: 'fanin',
    host: '127.0.0.1',
    port: 1883,
    protocolVersion: 4,
    qos: 1,
    payloadSize: 64,
    publishers: 10,
    subscribers: 1,
    rate: undefined,
    seconds: 2,
    sent: 100,
    delivered: 90,
    sentPerSec: 50,
    deliveredPerSec: 45,
    latency: { count: 90, p50: 1, p90: 2, p99: 3, max: 4, mean: 1.5 },
    totalSent: 100,
    totalDelivered: 90,
    lost: 10,
    duplicated: 0,
    outOfOrder: 0,
    errors: 0,
    cpu: { userMs: 1, systemMs: 1, percent: 10 },
    clientBound: false,
  } as BenchResult;

  test('lost messages come with what a broker may drop by its own limits', () => {
    assert.match(
      formatResult(result),
      /^lost means +published but never delivered\. .*max_queued_messages/m,
    );
    assert.doesNotMatch(formatResult({ ...result, lost: 0 }), /lost means/);
  });

  test('an interrupted run says so, and which phase it stopped in', () => {
    assert.match(
      formatResult({ ...result, interrupted: 'warmup' }),
      /^interrupted +by Ctrl-C during warmup: the figures cover the warm-up$/m,
    );
    assert.doesNotMatch(formatResult(result), /interrupted/);
  });
});

describe('comparison summary', () => {
  test('median of odd and even counts, ignoring missing values', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, undefined, 3, 2]), 2.5);
    assert.equal(median([undefined]), undefined);
    assert.equal(ratio(3, 2), '1.50×');
    assert.equal(ratio(undefined, 2), 'n/a');
  });

  test('replaceSection replaces only its own section and keeps the others', () => {
    const doc =
      '# Results\n\n## Codec\n\ncodec text\n\n## Broker comparison\n\nold\n\n## Topic\n\ntopic text\n';
    const out = replaceSection(doc, '## Broker comparison\n\nnew\n');
    assert.equal(
      out,
      '# Results\n\n## Codec\n\ncodec text\n\n## Broker comparison\n\nnew\n\n## Topic\n\ntopic text\n',
    );
    const appended = replaceSection(
      '# Results\n\n## Codec\n\nx\n',
      '## Broker comparison\n\nnew\n',
    );
    assert.equal(appended, '# Results\n\n## Codec\n\nx\n\n## Broker comparison\n\nnew\n');
  });

  test('conn: memory per connection from start, over the second half, after the hold and over the second half between two holds, connect latency, with ratios', () => {
    const conn = (
      broker: Sample['broker'],
      fromStart: number,
      marginal: number,
      p99: number,
      held: number,
      marginalHeld?: number,
    ): Sample => ({
      scenario: 'conn-10k',
      broker,
      transport: 'tcp',
      round: 1,
      memPerConnKiB: fromStart,
      marginalKiBPerConn: marginal,
      memPerConnHeldKiB: held,
      marginalHeldKiBPerConn: marginalHeld,
      brokerCpuUsPerConn: 100,
      peakRssMiB: 20,
      result: {
        latency: { count: 10, p50: p99 / 2, p90: p99, p99, max: p99, mean: p99 / 2 },
        cpu: { userMs: 500, systemMs: 500, percent: 80 },
        connections: { requested: 10, established: 10, failed: 0, connectsPerSec: 5000 },
        lost: 0,
        duplicated: 0,
        outOfOrder: 0,
      } as unknown as Sample['result'],
    });
    const rows = [
      summarize('conn-10k', 'pipit', [conn('pipit', 4.9, 1.8, 3, 1.4, 2.5)]),
      summarize('conn-10k', 'mosquitto', [conn('mosquitto', 0.7, 0.6, 2, 0.7, 0.5)]),
    ];
    const info = { date: 'd', machine: 'm', software: 's', settings: 'x.', command: 'c' };
    const text = renderSection(
      info,
      MATRIX.filter((s) => s.id === 'conn-10k'),
      rows,
    );
    assert.match(
      text,
      /\| 10k idle connections \| tcp \| pipit \| 10 \| 5,000 \| 1\.50 \| 3\.00 \|.*\| 4\.9 \| 1\.80 \| 1\.40 \| 2\.50 \| 20\.0 \|/,
    );
    assert.match(text, /KiB\/conn from start \(lower is better\) \| 7\.00× \|/);
    assert.match(text, /KiB\/conn 2nd half \(lower is better\) \| 3\.00× \|/);
    assert.match(text, /KiB\/conn after the hold, all idle \(lower is better\) \| 2\.00× \|/);
    assert.match(text, /KiB\/conn 2nd half, both held \(lower is better\) \| 5\.00× \|/);
    assert.match(text, /connect p99 \(lower is better\) \| 1\.50× \|/);
  });

  test('summaries take medians over ok rounds and the section shows Pipit ratios', () => {
    const sample = (broker: Sample['broker'], round: number, delivered: number): Sample => ({
      scenario: 'fanin-q0',
      broker,
      transport: 'tcp',
      round,
      brokerCpuUsPerMsg: 2,
      peakRssMiB: 50,
      result: {
        deliveredPerSec: delivered,
        sentPerSec: delivered,
        latency: { count: 1, p50: 1, p90: 1, p99: 2, max: 3, mean: 1 },
        cpu: { userMs: 1, systemMs: 1, percent: 10 },
        lost: 0,
        duplicated: 1,
        outOfOrder: 0,
      } as Sample['result'],
    });
    const pipit = summarize('fanin-q0', 'pipit', [
      sample('pipit', 1, 300),
      sample('pipit', 2, 100),
      sample('pipit', 3, 200),
      { scenario: 'fanin-q0', broker: 'pipit', transport: 'tcp', round: 4, error: 'boom' },
    ]);
    assert.equal(pipit.deliveredPerSec, 200);
    assert.equal(pipit.runs, 3);
    assert.equal(pipit.failures, 1);
    assert.equal(pipit.duplicated, 3, 'counts are summed, not medians');
    const mosquitto = summarize('fanin-q0', 'mosquitto', [sample('mosquitto', 1, 100)]);
    const info = { date: 'd', machine: 'm', software: 's', settings: 'x.', command: 'c' };
    const fanin = MATRIX.filter((s) => s.id === 'fanin-q0');
    const text = renderSection(info, fanin, [pipit, mosquitto]);
    assert.match(text, /^## Broker comparison\n/);
    assert.match(
      text,
      /\| fan-in 10→1, QoS 0 \| tcp \| delivered msg\/s \(higher is better\) \| 2\.00× \| n\/a \|/,
    );
  });

  test('with tcp and tls in one run: a transport column, and a Transport cost table', () => {
    const sample = (transport: Transport, delivered: number, cpuUs: number): Sample => ({
      scenario: 'fanin-q0',
      broker: 'pipit',
      transport,
      round: 1,
      brokerCpuUsPerMsg: cpuUs,
      result: {
        deliveredPerSec: delivered,
        sentPerSec: delivered,
        latency: { count: 1, p50: 1, p90: 1, p99: 2, max: 3, mean: 1 },
        cpu: { userMs: 1, systemMs: 1, percent: 10 },
        packetsPerWrite: 12.5,
        lost: 0,
        duplicated: 0,
        outOfOrder: 0,
      } as Sample['result'],
    });
    const rows = [
      summarize('fanin-q0', 'pipit', [sample('tcp', 200, 2)], 'tcp'),
      summarize('fanin-q0', 'pipit', [sample('tls', 100, 5)], 'tls'),
    ];
    const info = { date: 'd', machine: 'm', software: 's', settings: 'x.', command: 'c' };
    const text = renderSection(
      info,
      MATRIX.filter((s) => s.id === 'fanin-q0'),
      rows,
    );
    assert.match(text, /\| fan-in 10→1, QoS 0 \| tls \| pipit \| 100 \| 100 \|.*\| 12\.5 \|/);
    assert.match(text, /### Transport cost/);
    assert.match(text, /\| fan-in 10→1, QoS 0 \| delivered msg\/s \| pipit \| 0\.50× \| 2\.50× \|/);
    assert.match(text, /\| fan-in 10→1, QoS 0 \| tls \| delivered msg\/s \(higher is better\) \|/);
    const tcpOnly = renderSection(
      info,
      MATRIX.filter((s) => s.id === 'fanin-q0'),
      [rows[0]],
    );
    assert.doesNotMatch(tcpOnly, /Transport cost/);
  });

  test('the matrix ends with fan-in 8→1 at QoS 0 with 4 KiB and 64 KiB payloads', () => {
    const large = MATRIX.slice(-2);
    assert.deepEqual(
      large.map((s) => [s.id, s.options.count, s.options.qos, s.options.payloadSize, s.kind]),
      [
        ['fanin-4k', 8, 0, 4096, 'throughput'],
        ['fanin-64k', 8, 0, 65536, 'throughput'],
      ],
    );
  });
});
