/**
 * How the bench's WebSocket client frames MQTT: one packet per binary frame, as MQTT.js and
 * Paho send them, and all the frames of one write in one socket write.
 *
 * Frames that each carry many packets are allowed (a receiver may not assume packets and
 * frames align), but a batch of 100 messages of 64 KiB in one 6.5 MB frame is nothing a real
 * client sends, and Pipit closes a frame larger than its maximum packet size. Framing per
 * packet keeps the comparison about the transport; a client that batches (the `batch`
 * option) still makes one socket write per batch.
 */
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/**
 * The length of the MQTT packet at `offset` (fixed header included), or -1 when `buf` ends
 * before its remaining length does.
 */
export function packetLength(buf: Buffer, offset: number): number {
  let remaining = 0;
  let multiplier = 1;
  for (let i = offset + 1; i < buf.length && i <= offset + 4; i++) {
    const byte = buf[i];
    remaining += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return i - offset + 1 + remaining;
    multiplier *= 128;
  }
  return -1;
}

/** The ws library's TCP or TLS socket under a WebSocket (a private field; absent: no cork). */
function socketOf(ws: WebSocket): net.Socket | undefined {
  return (ws as unknown as { _socket?: net.Socket | null })._socket ?? undefined;
}

/**
 * Sends `chunk` as one binary frame per whole MQTT packet, corked into one socket write;
 * bytes past the last whole packet (the bench never writes any) go as one frame.
 * `done` runs once the last frame has been written.
 */
export function sendPackets(ws: WebSocket, chunk: Buffer, done: (err?: Error) => void): void {
  const socket = socketOf(ws);
  socket?.cork();
  let offset = 0;
  while (offset < chunk.length) {
    const len = packetLength(chunk, offset);
    const end = len < 0 || offset + len > chunk.length ? chunk.length : offset + len;
    // [MQTT-6.0.0-1] binary frames only.
    if (end === chunk.length) ws.send(chunk.subarray(offset, end), { binary: true }, done);
    else ws.send(chunk.subarray(offset, end), { binary: true });
    offset = end;
  }
  if (chunk.length === 0) done();
  // Uncorked after this turn: the frames above go out in one writev.
  if (socket) process.nextTick(() => socket.uncork());
}

/** Makes `duplex` (ws's createWebSocketStream of `ws`) write through {@link sendPackets}. */
export function framePerPacket(duplex: Duplex, ws: WebSocket): Duplex {
  const write = (chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void) => {
    if (ws.readyState === ws.CONNECTING) {
      ws.once('open', () => write(chunk, _enc, done));
      return;
    }
    sendPackets(ws, chunk, done);
  };
  duplex._write = write;
  return duplex;
}
