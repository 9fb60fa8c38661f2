/**
 * WebSocketSink over a real `ws` pair: writes of one tick become one binary frame,
 * bufferedBytes counts what is not yet sent, pause/resume hold back reading, end closes, and
 * the core hears when a peer that stopped reading has taken its frames.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { WebSocketSink } from '../../src/transport/ws-sink.js';

let server: WebSocketServer;
before(async () => {
  server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', resolve));
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A connected pair: the server side (wrapped by the sink) and the client side. */
async function pair(): Promise<{ near: WebSocket; far: WebSocket }> {
  const { port } = server.address() as AddressInfo;
  const accepted = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
  const far = new WebSocket(`ws://127.0.0.1:${port}`);
  await new Promise((resolve, reject) => far.once('open', resolve).once('error', reject));
  return { near: await accepted, far };
}

function nextFrame(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no frame')), 5000);
    ws.once('message', (data: Buffer, isBinary: boolean) => {
      clearTimeout(timer);
      resolve({ data, isBinary });
    });
  });
}

/** Waits until `done()` holds, checking every 5 ms; rejects after 5 s naming `what`. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !done(); waited += 5) {
    if (waited >= 5000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('WebSocketSink', () => {
  test('writes made in one tick go out as one binary frame; bufferedBytes counts them meanwhile', async () => {
    const { near, far } = await pair();
    const sink = new WebSocketSink(near);
    const frames: Buffer[] = [];
    far.on('message', (data: Buffer) => frames.push(data));
    const first = nextFrame(far);
    sink.write(Buffer.from([0x30, 0x02]));
    sink.write(Buffer.from('ab'));
    sink.write(Buffer.from([0xd0, 0x00]));
    assert.ok(sink.bufferedBytes >= 6);
    const { data, isBinary } = await first;
    assert.equal(isBinary, true);
    assert.deepEqual(data, Buffer.from([0x30, 0x02, 0x61, 0x62, 0xd0, 0x00]));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(frames.length, 1);
    far.terminate();
  });

  test('pause holds back incoming messages until resume', async () => {
    const { near, far } = await pair();
    const sink = new WebSocketSink(near);
    const got: string[] = [];
    near.on('message', (data: Buffer) => got.push(data.toString()));
    sink.pause();
    far.send(Buffer.from('held'));
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(got, []);
    sink.resume();
    const start = Date.now();
    while (got.length === 0 && Date.now() - start < 5000)
      await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(got, ['held']);
    far.terminate();
  });

  test('notifyWhenDrained waits while the peer reads nothing, and calls back once it has read', async () => {
    const { near, far } = await pair();
    const sink = new WebSocketSink(near);
    far.pause();
    let bytes = 0;
    far.on('message', (data: Buffer) => {
      bytes += data.length;
    });
    const total = 16 * 1024 * 1024;
    const block = Buffer.alloc(256 * 1024, 1);
    for (let sent = 0; sent < total; sent += block.length) {
      sink.write(block);
      await new Promise((r) => process.nextTick(r)); // one frame per block
    }
    let drained = 0;
    sink.notifyWhenDrained(() => drained++);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.equal(drained, 0, 'not called while the peer reads nothing');
    assert.ok(sink.bufferedBytes > 1024 * 1024, `${sink.bufferedBytes} bytes buffered`);
    far.resume();
    await until(() => drained > 0, 'the drain callback');
    assert.equal(drained, 1);
    assert.equal(sink.bufferedBytes, 0);
    await until(() => bytes >= total, 'every byte at the peer');
    far.terminate();
  });

  test('notifyWhenDrained with nothing buffered calls back on a later turn, not at once', async () => {
    const { near, far } = await pair();
    const sink = new WebSocketSink(near);
    let drained = 0;
    sink.notifyWhenDrained(() => drained++);
    assert.equal(drained, 0);
    await new Promise((r) => setImmediate(r));
    assert.equal(drained, 1);
    far.terminate();
  });

  test('end flushes what was written, then closes with 1000', async () => {
    const { near, far } = await pair();
    const sink = new WebSocketSink(near);
    const frame = nextFrame(far);
    const closed = new Promise<number>((resolve) => far.once('close', resolve));
    sink.write(Buffer.from([0xe0, 0x00]));
    sink.end();
    assert.deepEqual((await frame).data, Buffer.from([0xe0, 0x00]));
    assert.equal(await closed, 1000);
    sink.write(Buffer.from([0x01]));
    assert.equal(sink.bufferedBytes, 0, 'writes after close are dropped');
  });
});
