/**
 * SocketSink over a real loopback TCP pair: writes of one event-loop turn reach the peer
 * together and in order (small ones copied into one buffer, large ones as a writev),
 * bufferedBytes counts what is pending, end flushes before closing.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SocketSink } from '../../src/transport/socket-sink.js';

let server: Server;
before(async () => {
  server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A connected pair: the server side (wrapped by the sink) and the client side. */
async function pair(): Promise<{ near: Socket; far: Socket }> {
  const { port } = server.address() as AddressInfo;
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const far = connect(port, '127.0.0.1');
  await once(far, 'connect');
  const [near] = await accepted;
  return { near, far };
}

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

  test('writes after the socket is destroyed are ignored', async () => {
    const { near, far } = await pair();
    const sink = new SocketSink(near);
    near.destroy();
    sink.write(Buffer.from([0xd0, 0x00]));
    assert.equal(sink.bufferedBytes, 0);
    far.destroy();
  });
});
