/**
 * SocketSink's reads (beginRead/endRead, as the stream transport calls them around each
 * socket read): a read that is alone in its event-loop wake-up, after quiet wake-ups, has its
 * writes handed to the socket at its end, with no Immediate; reads that share a wake-up, and
 * the wake-up after a burst, are written once by the turn's flush, as writes outside a read
 * are. Over a real loopback TCP pair; what the peer receives is checked byte for byte.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { beginRead, endRead, SocketSink } from '../../src/transport/socket-sink.js';
import { SocketPairs } from '../helpers/socket-pair.js';

let pairs: SocketPairs;
before(async () => {
  pairs = await SocketPairs.listen();
});
after(() => pairs.close());

const pair = (): Promise<{ near: Socket; far: Socket }> => pairs.pair();

/** Collects what `far` receives. */
function collect(far: Socket): () => Buffer {
  const chunks: Buffer[] = [];
  far.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks);
}

/** Bytes the sink holds that it has not handed to the socket yet. */
const held = (sink: SocketSink, near: Socket): number => sink.bufferedBytes - near.writableLength;

/** One read that writes `bytes`, in a wake-up of its own (the loop waited before it). */
async function loneRead(sink: SocketSink, bytes: number[]): Promise<void> {
  await sleep(3);
  beginRead();
  sink.write(Buffer.from(bytes));
  endRead();
}

/** Enough lone reads that the next lone read is written at its end. */
async function quiet(sink: SocketSink): Promise<number[]> {
  const sent: number[] = [];
  for (let i = 0; i < 6; i++) {
    await loneRead(sink, [0x30 + i]);
    sent.push(0x30 + i);
  }
  return sent;
}

/** Waits until `far` received `n` bytes (bounded). */
async function received(got: () => Buffer, n: number): Promise<Buffer> {
  for (let waited = 0; got().length < n; waited += 5) {
    if (waited >= 5000) throw new Error(`only ${got().length} of ${n} bytes`);
    await sleep(5);
  }
  return got();
}

describe('SocketSink reads', () => {
  test('a read alone in its wake-up, after quiet ones, is handed to the socket at its end', async () => {
    const { near, far } = await pair();
    const got = collect(far);
    const sink = new SocketSink(near);
    const sent = await quiet(sink);
    await sleep(3);
    beginRead();
    sink.write(Buffer.from([0x40, 0x02, 0x00, 0x07]));
    sink.write(Buffer.from([0xd0, 0x00]));
    assert.equal(held(sink, near), 6, 'held while the read is handled');
    endRead();
    assert.equal(held(sink, near), 0, 'handed over at the end of the read, not on a later turn');
    sent.push(0x40, 0x02, 0x00, 0x07, 0xd0, 0x00);
    assert.deepEqual(await received(got, sent.length), Buffer.from(sent));
    far.destroy();
    near.destroy();
  });

  test('reads of one wake-up are written once, by the turn flush, in order', async () => {
    const { near, far } = await pair();
    const got = collect(far);
    const sink = new SocketSink(near);
    const sent = await quiet(sink);
    await sleep(3);
    // Three reads back to back: the loop did not wait between them.
    beginRead();
    sink.write(Buffer.from([1]));
    endRead();
    assert.equal(held(sink, near), 0, 'the first read of the wake-up went out on its own');
    beginRead();
    sink.write(Buffer.from([2]));
    endRead();
    beginRead();
    sink.write(Buffer.from([3]));
    endRead();
    assert.equal(held(sink, near), 2, 'the later reads wait for the turn flush');
    await nextTurn();
    assert.equal(held(sink, near), 0, 'written by the turn flush');
    // The wake-up after a burst of three is batched too, lone read or not.
    await sleep(3);
    beginRead();
    sink.write(Buffer.from([4]));
    endRead();
    assert.equal(held(sink, near), 1, 'after a burst: batched');
    await nextTurn();
    assert.equal(held(sink, near), 0);
    sent.push(1, 2, 3, 4);
    assert.deepEqual(await received(got, sent.length), Buffer.from(sent));
    far.destroy();
    near.destroy();
  });

  test('a write outside any read still waits for the turn flush', async () => {
    const { near, far } = await pair();
    const sink = new SocketSink(near);
    await quiet(sink);
    await sleep(3);
    sink.write(Buffer.from([0xd0, 0x00]));
    assert.equal(held(sink, near), 2);
    await nextTurn();
    assert.equal(held(sink, near), 0);
    far.destroy();
    near.destroy();
  });
});
