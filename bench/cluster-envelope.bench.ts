/**
 * The forwarded-batch codec (src/cluster/envelope.ts) against the V8-serialized batches it
 * replaced (still read, for nodes of an earlier version): ns per message to encode and to
 * decode, and bytes per message, for batches of 1, 10 and 300 messages of 64 bytes, without
 * and with MQTT 5 properties (one user property). CPU only, one process, no Redis; each
 * codec twice, alternating.
 *
 *   node --import tsx bench/cluster-envelope.bench.ts
 */
import { serialize } from 'node:v8';
import { decodeBatch, encodeBatch, type ForwardedMessage } from '../src/cluster/envelope.js';

/** The batch as nodes before the binary layout wrote it. */
function encodeV8(batch: readonly ForwardedMessage[]): Buffer {
  return serialize(
    batch.map(({ message: m, shareFilters }) => ({
      i: m.id,
      t: m.topic,
      p: m.payload,
      q: m.qos,
      r: m.retain,
      o: m.properties,
      e: m.expiresAt,
      c: m.origin,
      g: shareFilters,
    })),
  );
}

function batchOf(size: number, withProperties: boolean): ForwardedMessage[] {
  return Array.from({ length: size }, (_, i) => ({
    message: {
      id: 1e12 + i,
      topic: `bench/pair/${i % 100}`,
      payload: Buffer.alloc(64, 1),
      qos: 1 as const,
      retain: false,
      properties: withProperties
        ? { userProperties: [['k', 'v']] as [string, string][] }
        : undefined,
      expiresAt: undefined,
      origin: undefined,
      publisher: undefined,
      queueRefs: 0,
    },
    shareFilters: undefined,
  }));
}

/** ns per message of `fn` over `batch`, run until about 300k messages went through. */
function nsPerMessage(size: number, fn: () => unknown): number {
  const iterations = Math.ceil(300_000 / size);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return Number(process.hrtime.bigint() - t0) / (iterations * size);
}

console.log('| properties | batch | codec | encode ns/msg | decode ns/msg | bytes/msg |');
console.log('|---|--:|---|--:|--:|--:|');
for (const withProperties of [false, true]) {
  for (const size of [1, 10, 300]) {
    const batch = batchOf(size, withProperties);
    for (const [name, encode] of [
      ['v8', encodeV8],
      ['binary', encodeBatch],
      ['v8', encodeV8],
      ['binary', encodeBatch],
    ] as const) {
      const bytes = encode(batch);
      const enc = nsPerMessage(size, () => encode(batch));
      const dec = nsPerMessage(size, () => decodeBatch(bytes));
      console.log(
        `| ${withProperties ? 'one user property' : 'none'} | ${size} | ${name} | ${enc.toFixed(0)} | ${dec.toFixed(0)} | ${(bytes.length / size).toFixed(1)} |`,
      );
    }
  }
}
