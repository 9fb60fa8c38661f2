/**
 * Human-readable rendering of a bench result: a two-column table.
 */
import type { BenchResult } from './types.js';

const int = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Why messages can go missing when the broker itself is fine. */
const LOST_NOTE =
  'published but never delivered. A broker drops by its own limits too: a subscriber queue ' +
  'that is full (Mosquitto max_queued_messages, 1000 by default; Pipit ' +
  'limits.maxQueuedMessages) or, at QoS 0, a slow subscriber. Check its drop counters, or ' +
  'lower --window or -n.';

function interruptedRow(r: BenchResult): [string, string][] {
  if (!r.interrupted) return [];
  const what =
    r.interrupted === 'warmup' ? 'the figures cover the warm-up' : 'the figures cover what ran';
  return [['interrupted', `by Ctrl-C during ${r.interrupted}: ${what}`]];
}

function rows(r: BenchResult): [string, string][] {
  const version = r.protocolVersion === 5 ? '5.0' : '3.1.1';
  const head: [string, string][] = [
    ['scenario', r.scenario],
    ['broker', `${r.host}:${r.port} over ${r.transport} (MQTT ${version})`],
    ...interruptedRow(r),
  ];
  if (r.connections) {
    const c = r.connections;
    return [
      ...head,
      ['connections', `${int(c.established)} of ${int(c.requested)} (${int(c.failed)} failed)`],
      ['connect time', `${c.connectSeconds.toFixed(2)} s`],
      ['connect rate', `${int(c.connectsPerSec)} conn/s`],
      ['connect p50/p99/max', `${r.latency.p50} / ${r.latency.p99} / ${r.latency.max} ms`],
      ...(c.firstError ? [['first error', c.firstError] as [string, string]] : []),
      ['dropped while held', int(r.errors - c.failed)],
      ['client cpu', `${r.cpu.percent}%${r.clientBound ? ' (client-bound)' : ''}`],
    ];
  }
  const l = r.latency;
  return [
    ...head,
    ['clients', `${r.publishers} publishers, ${r.subscribers} subscribers`],
    ['qos / payload', `QoS ${r.qos}, ${int(r.payloadSize)} bytes`],
    ...(r.rate
      ? [['target rate', `${int(r.rate)} msg/s, ${r.pace ?? 'timer'} pace`] as [string, string]]
      : []),
    ['measured', `${r.seconds.toFixed(2)} s`],
    [
      'writes',
      `${int(r.writes)}: ${r.packetsPerWrite} messages per write (fewest ${r.minPacketsPerWrite}, batch ${r.batch})`,
    ],
    ['sent', `${int(r.sentPerSec)} msg/s (${int(r.sent)})`],
    ['delivered', `${int(r.deliveredPerSec)} msg/s (${int(r.delivered)})`],
    ['latency p50/p99/max', `${l.p50} / ${l.p99} / ${l.max} ms`],
    ['lost / dup / out of order', `${int(r.lost)} / ${int(r.duplicated)} / ${int(r.outOfOrder)}`],
    ...(r.lost > 0 ? [['lost means', LOST_NOTE] as [string, string]] : []),
    ['errors', int(r.errors)],
    ['client cpu', `${r.cpu.percent}% of a core${r.clientBound ? ' (client-bound!)' : ''}`],
  ];
}

/** Formats a result as an aligned text table (no trailing newline). */
export function formatResult(r: BenchResult): string {
  const table = rows(r);
  const width = Math.max(...table.map(([k]) => k.length));
  return table.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
