/**
 * The outbox's encoding, before and after: holding each turn's forwards as objects and
 * encoding the batch at the flush (encodeBatch), against encoding each forward into the
 * node's batch as it is routed (BatchBuilder, what the outbox does). Alternating passes in one
 * process, 64-byte payloads; ns per message. Figures are printed, never asserted. (The copies
 * ioredis made of the encoded batch, which the framed EVAL avoids, are not in either figure.)
 *
 *   node --import tsx bench/cluster-encode-as-routed.bench.ts [passes] [batch]
 */
import { BatchBuilder } from '../src/cluster/batch-builder.js';
import { encodeBatch, type ForwardedMessage } from '../src/cluster/envelope.js';
import type { Message } from '../src/core/index.js';

const passes = Number(process.argv[2] ?? 4);
const batchSize = Number(process.argv[3] ?? 300);
const TOTAL = 600_000;

function message(i: number): Message {
  return {
    id: 1_000_000 + i,
    topic: `bench/pair/${i % 100}`,
    payload: Buffer.alloc(64, i & 0xff),
    qos: 0,
    retain: false,
    properties: undefined,
    expiresAt: undefined,
    origin: `publisher-${i % 100}`,
    publisher: undefined,
    queueRefs: 0,
  };
}

/** Held, then encoded at the flush. */
function heldThenEncoded(messages: readonly Message[]): number {
  let bytes = 0;
  for (let i = 0; i < messages.length; i += batchSize) {
    const held: ForwardedMessage[] = [];
    for (let j = i; j < i + batchSize && j < messages.length; j++) {
      held.push({ message: messages[j]!, shareFilters: undefined });
    }
    bytes += encodeBatch(held).length;
  }
  return bytes;
}

/** Encoded as routed. */
function encodedAsRouted(messages: readonly Message[], builder: BatchBuilder): number {
  let bytes = 0;
  for (let i = 0; i < messages.length; i += batchSize) {
    for (let j = i; j < i + batchSize && j < messages.length; j++) {
      builder.add(messages[j]!, undefined);
    }
    const batch = builder.finish(2);
    bytes += batch.end - batch.start;
  }
  return bytes;
}

const messages = Array.from({ length: TOTAL }, (_, i) => message(i));
const builder = new BatchBuilder(400);
for (let pass = 1; pass <= passes; pass++) {
  let t = process.hrtime.bigint();
  const a = heldThenEncoded(messages);
  const held = Number(process.hrtime.bigint() - t) / TOTAL;
  t = process.hrtime.bigint();
  const b = encodedAsRouted(messages, builder);
  const routed = Number(process.hrtime.bigint() - t) / TOTAL;
  console.log(
    `pass ${pass}, batch ${batchSize}: held then encoded ${held.toFixed(0)} ns/msg (${a} B), encoded as routed ${routed.toFixed(0)} ns/msg (${b} B)`,
  );
}
