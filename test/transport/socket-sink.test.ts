/**
 * SocketSink over a real loopback TCP pair: writes of one event-loop turn reach the peer
 * together and in order (small ones copied into buffers of up to 16 KiB, large ones as a
 * writev), bufferedBytes counts what is pending, end flushes before closing, and the core
 * hears when a peer that stopped reading has taken its bytes.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SocketSink } from '../../src/transport/socket-sink.js';
import { SocketPairs } from '../helpers/socket-pair.js';

let pairs: SocketPairs;
before(async () => {
  pairs = await SocketPairs.listen();
});
after(() => pairs.close());

/** A connected pair: the server side (wrapped by the sink) and the client side. */
const pair = (): Promise<{ near: Socket; far: Socket }> => pairs.pair();

/** Reads from `far` until `length` bytes arrived (bounded by a timer). */
function readBytes(far: Socket, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let have = 0;
    const timer = setTimeout(() => reject(new Error(`only ${have} of ${length} bytes`)), 5000);
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      have += chunk.length;
      if (have < length) return;
      clearTimeout(timer);
      far.off('data', onData);
      resolve(Buffer.concat(chunks));
    };
    far.on('data', onData);
  });
}

/** Waits until `done()` holds, checking every 5 ms; rejects after 5 s naming `what`. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !done(); waited += 5) {
    if (waited >= 5000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('SocketSink', () => {
  test('writes made in one turn arrive in order; bufferedBytes counts them until flushed', async () => {
    const { near, far } = await pair();
    const sink = new SocketSink(near);
    const received = readBytes(far, 6);
    sink.write(Buffer.from([0x40, 0x02, 0x00, 0x01]));
    sink.write(Buffer.from([0xd0, 0x00]));
    assert.equal(sink.bufferedBytes, 6);
    assert.deepEqual(await received, Buffer.from([0x40, 0x02, 0x00, 0x01, 0xd0, 0x00]));
    assert.equal(sink.bufferedBytes, 0);
    far.destroy();
    near.destroy();
  });

  test('large writes (past the copy threshold) keep their order', async () => {
    const { near, far } = await pair();
    const sink = new SocketSink(near);
    const parts = [0, 1, 2, 3, 4, 5].map((i) => Buffer.alloc(5000, i));
    const received = readBytes(far, 30_000);
    for (const part of parts) sink.write(part);
    assert.deepEqual(await received, Buffer.concat(parts));
    far.destroy();
    near.destroy();
  });

  test('end flushes pending bytes, then closes', async () => {
    const { near, far } = await pair();
    const sink = new SocketSink(near);
    const received = readBytes(far, 2);
    const closed = once(far, 'end');
    sink.write(Buffer.from([0xe0, 0x00]));
    sink.end();
    assert.deepEqual(await received, Buffer.from([0xe0, 0x00]));
    await closed;
    far.destroy();
  });

  test('thousands of tiny packets in one turn reach the socket as a few 16 KiB buffers, in order', async () => {
    const { near, far } = await pair();
    const sink = new SocketSink(near);
    // Count what the sink hands to the real socket (each write is an entry in its queue).
    let socketWrites = 0;
    const write = near.write.bind(near) as (chunk: Buffer) => boolean;
    near.write = ((chunk: Buffer) => {
      socketWrites++;
      return write(chunk);
    }) as typeof near.write;
    const count = 40_000; // 80,000 bytes of 2-byte PINGRESP-sized chunks
    const received = readBytes(far, count * 2);
    const expected = Buffer.alloc(count * 2);
    for (let i = 0; i < count; i++) {
      const chunk = Buffer.from([0xd0, i & 0xff]);
      chunk.copy(expected, i * 2);
      sink.write(chunk);
    }
    assert.deepEqual(await received, expected);
    assert.ok(socketWrites <= 8, `${socketWrites} socket writes for ${count} chunks`);
    far.destroy();
    near.destroy();
  });

  test('small and large chunks mixed past the copy threshold keep their order', async () => {
    const { near, far } = await pair();
    const sink = new SocketSink(near);
    const parts = Array.from({ length: 40 }, (_, i) => Buffer.alloc(i % 2 ? 5000 : 100, i));
    const total = parts.reduce((n, p) => n + p.length, 0);
    const received = readBytes(far, total);
    for (const part of parts) sink.write(part);
    assert.deepEqual(await received, Buffer.concat(parts));
    far.destroy();
    near.destroy();
  });

  test('notifyWhenDrained waits while the peer reads nothing, and calls back once it has read', async () => {
    const { near, far } = await pair();
    const sink = new SocketSink(near);
    far.pause();
    const total = 16 * 1024 * 1024; // well past what the kernel buffers on loopback
    const block = Buffer.alloc(64 * 1024, 1);
    for (let sent = 0; sent < total; sent += block.length) sink.write(block);
    let drained = 0;
    sink.notifyWhenDrained(() => drained++);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.equal(drained, 0, 'not called while the peer reads nothing');
    assert.ok(sink.bufferedBytes > 1024 * 1024, `${sink.bufferedBytes} bytes buffered`);
    const read = readBytes(far, total);
    far.resume();
    await read;
    await until(() => drained > 0, 'the drain callback');
    assert.equal(drained, 1);
    assert.ok(sink.bufferedBytes < 16 * 1024, 'at most the socket high-water mark is left');
    far.destroy();
    near.destroy();
  });

  test('notifyWhenDrained with nothing buffered calls back on a later turn, not at once', async () => {
    const { near, far } = await pair();
    const sink = new SocketSink(near);
    let drained = 0;
    sink.notifyWhenDrained(() => drained++);
    assert.equal(drained, 0);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.equal(drained, 1);
    far.destroy();
    near.destroy();
  });

  test('writes after the socket is destroyed are ignored', async () => {
    const { near, far } = await pair();
    const sink = new SocketSink(near);
    near.destroy();
    sink.write(Buffer.from([0xd0, 0x00]));
    assert.equal(sink.bufferedBytes, 0);
    far.destroy();
  });
});
