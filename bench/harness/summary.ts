/**
 * Medians over rounds, Pipit's ratios to the other brokers, and the Markdown section.
 */
import type { Transport } from '../../src/bench/transport.js';
import type { BrokerName } from './brokers.js';
import type { ComparisonScenario } from './matrix.js';
import type { Sample } from './runner.js';
import { transportCostTable } from './transport-table.js';

/** Median figures of one broker on one scenario. */
export interface Summary {
  scenario: string;
  broker: BrokerName;
  transport: Transport;
  runs: number;
  failures: number;
  deliveredPerSec?: number;
  sentPerSec?: number;
  p50?: number;
  p99?: number;
  max?: number;
  brokerCpuUsPerMsg?: number;
  brokerCpuPercent?: number;
  peakRssMiB?: number;
  clientCpuPercent?: number;
  /** Messages per publisher write (the generator's batching as it happened). */
  packetsPerWrite?: number;
  /** Summed over rounds, not medians: any non-zero count matters. */
  lost: number;
  duplicated: number;
  outOfOrder: number;
  connectsPerSec?: number;
  memPerConnKiB?: number;
  marginalKiBPerConn?: number;
  /** conn: broker memory per connection at the end of the hold (all idle for `--hold` s). */
  memPerConnHeldKiB?: number;
  /** conn with `--half-hold`: the second half's cost per connection, both heaps settled. */
  marginalHeldKiBPerConn?: number;
  brokerCpuUsPerConn?: number;
  /** conn: the load generator's CPU while connecting, per connection, µs. */
  clientCpuUsPerConn?: number;
  established?: number;
  error?: string;
}

/** The median of the defined values, or undefined when there are none. */
export function median(values: readonly (number | undefined)[]): number | undefined {
  const v = values.filter((x): x is number => x !== undefined && Number.isFinite(x));
  if (v.length === 0) return undefined;
  v.sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Summarizes the samples of one scenario, broker and transport. */
export function summarize(
  scenario: string,
  broker: BrokerName,
  samples: Sample[],
  transport: Transport = 'tcp',
): Summary {
  const ok = samples.filter((s) => s.result);
  const m = (f: (s: Sample) => number | undefined) => median(ok.map(f));
  const sum = (f: (s: Sample) => number) => ok.reduce((a, s) => a + f(s), 0);
  return {
    scenario,
    broker,
    transport,
    runs: ok.length,
    failures: samples.length - ok.length,
    deliveredPerSec: m((s) => s.result?.deliveredPerSec),
    sentPerSec: m((s) => s.result?.sentPerSec),
    p50: m((s) => s.result?.latency.p50),
    p99: m((s) => s.result?.latency.p99),
    max: m((s) => s.result?.latency.max),
    brokerCpuUsPerMsg: m((s) => s.brokerCpuUsPerMsg),
    brokerCpuPercent: m((s) => s.brokerCpuPercent),
    peakRssMiB: m((s) => s.peakRssMiB),
    clientCpuPercent: m((s) => s.result?.cpu.percent),
    packetsPerWrite: m((s) => s.result?.packetsPerWrite || undefined),
    lost: sum((s) => s.result!.lost),
    duplicated: sum((s) => s.result!.duplicated),
    outOfOrder: sum((s) => s.result!.outOfOrder),
    connectsPerSec: m((s) => s.result?.connections?.connectsPerSec),
    memPerConnKiB: m((s) => s.memPerConnKiB),
    marginalKiBPerConn: m((s) => s.marginalKiBPerConn),
    memPerConnHeldKiB: m((s) => s.memPerConnHeldKiB),
    marginalHeldKiBPerConn: m((s) => s.marginalHeldKiBPerConn),
    brokerCpuUsPerConn: m((s) => s.brokerCpuUsPerConn),
    clientCpuUsPerConn: m((s) => {
      const r = s.result;
      const n = r?.connections?.established;
      return r && n ? Math.round(((r.cpu.userMs + r.cpu.systemMs) * 1000) / n) : undefined;
    }),
    established: m((s) => s.result?.connections?.established),
    error: samples.find((s) => s.error)?.error,
  };
}

const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined
    ? 'n/a'
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** a / b as "1.23×", or n/a. */
export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || b === 0) return 'n/a';
  return `${(a / b).toFixed(2)}×`;
}

function throughputTable(rows: Summary[], titles: Map<string, string>): string[] {
  const out = [
    '| scenario | transport | broker | delivered msg/s | sent msg/s | p50 ms | p99 ms | broker CPU µs/msg | broker CPU % | peak RSS MiB | lost / dup / ooo | client CPU % | msgs/write |',
    '|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    const cells = r.runs
      ? [
          fmt(r.deliveredPerSec),
          fmt(r.sentPerSec),
          fmt(r.p50, 2),
          fmt(r.p99, 2),
          fmt(r.brokerCpuUsPerMsg, 2),
          fmt(r.brokerCpuPercent),
          fmt(r.peakRssMiB, 1),
          `${r.lost} / ${r.duplicated} / ${r.outOfOrder}`,
          fmt(r.clientCpuPercent),
          fmt(r.packetsPerWrite, 1),
        ]
      : [`failed: ${r.error ?? 'no result'}`, '', '', '', '', '', '', '', '', ''];
    out.push(`| ${titles.get(r.scenario)} | ${r.transport} | ${r.broker} | ${cells.join(' | ')} |`);
  }
  return out;
}

function connTable(rows: Summary[], titles: Map<string, string>): string[] {
  const out = [
    '| scenario | transport | broker | established | connects/s | connect p50 ms | connect p99 ms | broker CPU µs/conn | client CPU µs/conn | client CPU % | broker KiB/conn from start | broker KiB/conn 2nd half | broker KiB/conn after the hold | broker KiB/conn 2nd half, both held | peak RSS MiB |',
    '|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    const cells = r.runs
      ? [
          fmt(r.established),
          fmt(r.connectsPerSec),
          fmt(r.p50, 2),
          fmt(r.p99, 2),
          fmt(r.brokerCpuUsPerConn),
          fmt(r.clientCpuUsPerConn),
          fmt(r.clientCpuPercent),
          fmt(r.memPerConnKiB, 1),
          fmt(r.marginalKiBPerConn, 2),
          fmt(r.memPerConnHeldKiB, 2),
          fmt(r.marginalHeldKiBPerConn, 2),
          fmt(r.peakRssMiB, 1),
        ]
      : [`failed: ${r.error ?? 'no result'}`, '', '', '', '', '', '', '', '', '', '', ''];
    out.push(`| ${titles.get(r.scenario)} | ${r.transport} | ${r.broker} | ${cells.join(' | ')} |`);
  }
  return out;
}

/** The headline figure of a scenario kind, and whether higher is better. */
function headline(kind: ComparisonScenario['kind']): [string, (s: Summary) => number | undefined] {
  if (kind === 'latency') return ['p99 latency (lower is better)', (s) => s.p99];
  if (kind === 'conn') return ['connects/s (higher is better)', (s) => s.connectsPerSec];
  return ['delivered msg/s (higher is better)', (s) => s.deliveredPerSec];
}

function ratioTable(scenarios: readonly ComparisonScenario[], all: Summary[]): string[] {
  // Pipit with metrics scraped against Pipit without: shown when the run had pipit-ops.
  const ops = all.some((s) => s.broker === 'pipit-ops');
  const out = ops
    ? [
        '| scenario | transport | figure | Pipit/Mosquitto | Pipit/Aedes | Pipit ops/Pipit |',
        '|---|---|---|--:|--:|--:|',
      ]
    : [
        '| scenario | transport | figure | Pipit/Mosquitto | Pipit/Aedes |',
        '|---|---|---|--:|--:|',
      ];
  for (const t of transportsOf(all)) {
    const get = (id: string, b: BrokerName) =>
      all.find((s) => s.scenario === id && s.broker === b && s.transport === t);
    for (const sc of scenarios) {
      const [name, f] = headline(sc.kind);
      const row = (figure: string, read: (b: BrokerName) => number | undefined): string => {
        const opsCell = ops ? ` ${ratio(read('pipit-ops'), read('pipit'))} |` : '';
        return `| ${sc.title} | ${t} | ${figure} | ${ratio(read('pipit'), read('mosquitto'))} | ${ratio(read('pipit'), read('aedes'))} |${opsCell}`;
      };
      out.push(
        row(name, (b) => {
          const s = get(sc.id, b);
          return s ? f(s) : undefined;
        }),
      );
      if (sc.kind === 'conn') {
        out.push(
          row('broker KiB/conn from start (lower is better)', (b) => get(sc.id, b)?.memPerConnKiB),
          row(
            'broker KiB/conn 2nd half (lower is better)',
            (b) => get(sc.id, b)?.marginalKiBPerConn,
          ),
          row(
            'broker KiB/conn after the hold, all idle (lower is better)',
            (b) => get(sc.id, b)?.memPerConnHeldKiB,
          ),
          row(
            'broker KiB/conn 2nd half, both held (lower is better)',
            (b) => get(sc.id, b)?.marginalHeldKiBPerConn,
          ),
          row('connect p99 (lower is better)', (b) => get(sc.id, b)?.p99),
        );
      }
    }
  }
  return out;
}

/** The transports of a run, in the order they ran. */
export function transportsOf(all: readonly Summary[]): Transport[] {
  return [...new Set(all.map((s) => s.transport))];
}

/** What the section says about how it was measured. */
export interface RunInfo {
  date: string;
  machine: string;
  software: string;
  settings: string;
  command: string;
}

/** The whole "## Broker comparison" section of bench/RESULTS.md. */
export function renderSection(
  info: RunInfo,
  scenarios: readonly ComparisonScenario[],
  summaries: Summary[],
): string {
  const titles = new Map(scenarios.map((s) => [s.id, s.title]));
  const ids = new Set(scenarios.filter((s) => s.kind !== 'conn').map((s) => s.id));
  const msgRows = summaries.filter((s) => ids.has(s.scenario));
  const connRows = summaries.filter((s) => !ids.has(s.scenario));
  return [
    '## Broker comparison',
    '',
    `Measured ${info.date} on ${info.machine}.`,
    `${info.software}. ${info.settings}`,
    `Reproduce with \`${info.command}\`. Figures are medians over the rounds; lost / dup / ooo`,
    'are summed over all rounds. Broker CPU is user + system time of the broker process while',
    "measuring (from /proc/<pid>/stat); client CPU is the load generator's own, and near 100%",
    'means a figure is bounded by the client rather than the broker; msgs/write is how many',
    "messages the generator's publishers put in one socket write (the mean over the run).",
    '',
    '### Messages',
    '',
    ...throughputTable(msgRows, titles),
    '',
    ...(connRows.length ? ['### Connections', '', ...connTable(connRows, titles), ''] : []),
    ...transportCostTable(scenarios, summaries),
    '### Ratios',
    '',
    ...ratioTable(scenarios, summaries),
    '',
  ].join('\n');
}

/** Replaces (or appends) the "## Broker comparison" section of a Markdown document. */
export function replaceSection(doc: string, section: string): string {
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => l.trim() === '## Broker comparison');
  const body = section.endsWith('\n') ? section : `${section}\n`;
  if (start < 0) {
    const base = doc.trimEnd();
    return `${base ? `${base}\n\n` : '# Benchmark results\n\n'}${body}`;
  }
  let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  if (end < 0) end = lines.length;
  const before = lines.slice(0, start).join('\n');
  const after = lines.slice(end).join('\n');
  return `${before}${before ? '\n' : ''}${body}${after ? `\n${after}` : ''}`;
}
