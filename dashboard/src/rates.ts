/**
 * Rates from the counters: each poll of `/counters` is a sample, and a series is the
 * difference between two samples over the time between them. The history keeps the last
 * {@link HISTORY} points, in the column form uPlot takes.
 */
import type { Counters, Runtime } from './types.ts';

/** Points kept per chart (two minutes at one poll a second). */
export const HISTORY = 120;

/** One poll: when, the counters, the runtime figures. */
export interface Sample {
  at: number;
  counters: Counters;
  runtime: Runtime;
}

/** The charts' data: times (seconds) then one array per series, each chart its own. */
export interface History {
  connections: number[][];
  messages: number[][];
  bytes: number[][];
  drops: number[][];
  loop: number[][];
  /** Mean store commit latency between two polls (ms): batch, then COMMIT alone. */
  commits: number[][];
  dropReasons: string[];
}

export function emptyHistory(): History {
  return {
    connections: [],
    messages: [],
    bytes: [],
    drops: [],
    loop: [],
    commits: [],
    dropReasons: [],
  };
}

/** Appends a row to columnar data, keeping the last HISTORY rows. */
function push(data: number[][], row: number[]): number[][] {
  const next = row.map((value, i) => [...(data[i] ?? []), value].slice(-HISTORY));
  return next;
}

/** Mean batch and COMMIT latency (ms) of the commits between two polls (0 when none). */
function commitLatency(prev: Runtime, cur: Runtime): [number, number] {
  const [a, b] = [prev.storeCommits, cur.storeCommits];
  if (a === null || b === null || b.commits <= a.commits) return [0, 0];
  const n = b.commits - a.commits;
  return [
    ((b.batchSecondsTotal - a.batchSecondsTotal) / n) * 1000,
    ((b.commitSecondsTotal - a.commitSecondsTotal) / n) * 1000,
  ];
}

/** The history with the rates between `prev` and `cur` added. */
export function addSample(history: History, prev: Sample, cur: Sample): History {
  const seconds = Math.max((cur.at - prev.at) / 1000, 0.001);
  const rate = (a: number, b: number) => Math.max(0, (b - a) / seconds);
  const [p, c] = [prev.counters, cur.counters];
  const t = cur.at / 1000;
  const reasons = Object.keys(c.dropped).sort();
  return {
    connections: push(history.connections, [t, c.connectionsCurrent]),
    messages: push(history.messages, [
      t,
      ...[0, 1, 2].map((q) => rate(p.messagesReceivedByQos[q]!, c.messagesReceivedByQos[q]!)),
      ...[0, 1, 2].map((q) => rate(p.messagesSentByQos[q]!, c.messagesSentByQos[q]!)),
    ]),
    bytes: push(history.bytes, [
      t,
      rate(p.bytesReceived, c.bytesReceived),
      rate(p.bytesSent, c.bytesSent),
    ]),
    drops:
      reasons.join() === history.dropReasons.join()
        ? push(history.drops, [t, ...reasons.map((r) => rate(p.dropped[r] ?? 0, c.dropped[r]!))])
        : push([], [t, ...reasons.map((r) => rate(p.dropped[r] ?? 0, c.dropped[r]!))]),
    loop: push(history.loop, [
      t,
      cur.runtime.eventLoopDelayMs.p99,
      cur.runtime.eventLoopDelayMs.max,
    ]),
    commits: push(history.commits, [t, ...commitLatency(prev.runtime, cur.runtime)]),
    dropReasons: reasons,
  };
}
