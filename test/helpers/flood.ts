/**
 * Floods for output-backpressure tests: chunks of many small packets, and a writer that keeps
 * sending while the peer takes them and stops once it stalls (the broker stopped reading).
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { ProtocolVersion } from '../../src/protocol/index.js';
import { encode } from '../../src/protocol/index.js';

/** About `bytes` of PINGREQ packets back to back. */
export function pingreqChunk(bytes = 16 * 1024): Buffer {
  const chunk = Buffer.alloc(bytes - (bytes % 2));
  for (let i = 0; i < chunk.length; i += 2) chunk[i] = 0xc0; // PINGREQ, remaining length 0
  return chunk;
}

/** About `bytes` of QoS 1 PUBLISH packets (topic 'q', empty payload), packet ids 1, 2, ... */
export function qos1PublishChunk(version: ProtocolVersion, bytes = 16 * 1024): Buffer {
  const parts: Buffer[] = [];
  let size = 0;
  for (let id = 1; size < bytes; id++) {
    const packet = encode(
      {
        type: 'publish',
        topic: 'q',
        payload: Buffer.alloc(0),
        qos: 1,
        retain: false,
        dup: false,
        packetId: id,
      },
      version,
    );
    parts.push(packet);
    size += packet.length;
  }
  return Buffer.concat(parts);
}

/** Something to flood: a write that says whether more may follow, and a wait for room. */
export interface FloodTarget {
  /** Queues a chunk; false when the writer's own buffer is full. */
  write(chunk: Buffer): boolean;
  /** Resolves true once there is room again, false if none came within `ms`. */
  room(ms: number): Promise<boolean>;
  readonly open: boolean;
}

/** A TCP socket as a flood target. */
export function socketTarget(socket: Socket): FloodTarget {
  return {
    write: (chunk) => socket.write(chunk),
    room: (ms) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => {
          socket.off('drain', onDrain);
          resolve(false);
        }, ms);
        const onDrain = (): void => {
          clearTimeout(timer);
          resolve(true);
        };
        socket.once('drain', onDrain);
      }),
    get open() {
      return !socket.destroyed;
    },
  };
}

/** A WebSocket as a flood target: full while 1 MiB waits in its buffer. */
export function webSocketTarget(ws: WebSocket): FloodTarget {
  const full = 1024 * 1024;
  return {
    write: (chunk) => {
      ws.send(chunk);
      return ws.bufferedAmount < full;
    },
    room: async (ms) => {
      for (let waited = 0; waited < ms; waited += 10) {
        if (ws.bufferedAmount < full) return true;
        await new Promise((r) => setTimeout(r, 10));
      }
      return ws.bufferedAmount < full;
    },
    get open() {
      return ws.readyState === ws.OPEN;
    },
  };
}

/** What a flood did. */
export interface FloodResult {
  /** Bytes handed to the writer. */
  sent: number;
  /** True when it stopped because the peer took nothing for `stallMs`. */
  stalled: boolean;
}

/**
 * Writes `chunk` again and again until `maxBytes` were sent, or until the peer has taken
 * nothing for `stallMs` (it stopped reading us), or the connection closed.
 */
export async function flood(
  target: FloodTarget,
  chunk: Buffer,
  maxBytes: number,
  stallMs = 1000,
): Promise<FloodResult> {
  let sent = 0;
  while (sent < maxBytes && target.open) {
    const more = target.write(chunk);
    sent += chunk.length;
    if (!more && !(await target.room(stallMs))) return { sent, stalled: true };
  }
  return { sent, stalled: false };
}
