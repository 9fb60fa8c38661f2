/**
 * The batch builder's buffers (src/cluster/batch-builder.ts): a finished batch's buffer is
 * never written again until the caller gives it back (its write is done), and then the next
 * batch that fits is written into it instead of a new buffer; a spare too small for the
 * batches of the moment is dropped, and at most two are kept.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchBuilder, type FinishedBatch } from '../../src/cluster/batch-builder.js';
import { decodeBatch } from '../../src/cluster/envelope.js';
import type { Message } from '../../src/core/index.js';
import { testMessage } from '../helpers/message.js';

function message(topic: string, size: number): Message {
  return testMessage({ topic, payload: Buffer.alloc(size, 7), qos: 0 });
}

/** A batch of `n` messages of `size` bytes on `topic`. */
function batch(builder: BatchBuilder, topic: string, n: number, size: number): FinishedBatch {
  for (let i = 0; i < n; i++) builder.addMessage(message(topic, size));
  return builder.finish();
}

const topicsOf = (b: FinishedBatch) =>
  decodeBatch(b.buffer.subarray(b.start, b.end)).map((f) => f.message.topic);

describe('cluster: the batch builder reuses the buffers given back', () => {
  it('writes no batch into a buffer not given back, and the next one into one that was', () => {
    const builder = new BatchBuilder(16);
    const first = batch(builder, 'a', 100, 64);
    const second = batch(builder, 'b', 100, 64);
    assert.notEqual(second.buffer, first.buffer);
    assert.deepEqual(new Set(topicsOf(first)), new Set(['a'])); // untouched by the second
    builder.recycle(first.buffer);
    const third = batch(builder, 'c', 100, 64);
    assert.equal(third.buffer, first.buffer);
    assert.deepEqual(new Set(topicsOf(third)), new Set(['c']));
    assert.deepEqual(new Set(topicsOf(second)), new Set(['b']));
  });

  it('drops a spare too small for the batches of the moment, and keeps two at most', () => {
    const builder = new BatchBuilder(16);
    const small = batch(builder, 'small', 1, 10);
    const big = batch(builder, 'big', 400, 100); // the next batches start this large
    builder.recycle(small.buffer);
    const next = batch(builder, 'next', 400, 100);
    assert.notEqual(next.buffer, small.buffer);
    const spares = [big, next, batch(builder, 'x', 400, 100)];
    for (const b of spares) builder.recycle(b.buffer);
    const reused = [1, 2, 3].map(() => batch(builder, 'y', 400, 100).buffer);
    assert.equal(reused.filter((b) => spares.some((s) => s.buffer === b)).length, 2);
  });
});
