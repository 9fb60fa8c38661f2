/**
 * The load generator's connection: a byte stream (TCP, TLS, WebSocket: see transport.ts),
 * the codec's Decoder, and batched writes. No promises or events per message: a role (publisher or subscriber) sets
 * `onPacket` and the connection calls it synchronously for each decoded packet.
 */
import type { Duplex } from 'node:stream';
import { Decoder, encode } from '../protocol/index.js';
import type { ConnackPacket, Packet, QoS } from '../protocol/packets.js';
import { nowNs } from './payload.js';
import { openStream, type StreamOptions } from './transport.js';

/** How to open one bench connection. */
export interface RawConnectOptions extends StreamOptions {
  clientId: string;
  protocolVersion: 4 | 5;
  keepAlive: number;
  username?: string;
  password?: string;
  timeoutMs: number;
}

/** First byte of the four acknowledgements the bench sends (type << 4 | flags). */
export const ACK_BYTE = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 } as const;

const NO_PACKET = (): void => {};

/** One socket speaking MQTT for the bench. */
export class RawConnection {
  /** The stream to the broker: a TCP or TLS socket, or a WebSocket's byte stream. */
  readonly socket: Duplex;
  /** Called for every decoded packet. */
  onPacket: (p: Packet) => void = NO_PACKET;
  /** Called once after each received chunk has been decoded and acks flushed. */
  afterChunk: () => void = NO_PACKET;
  /** Called once when the socket closes (with the error that closed it, if any). */
  onClose: (err: Error | undefined) => void = NO_PACKET;
  /** Monotonic ns when the current chunk arrived: every packet in it shares that time. */
  chunkNs = 0;
  /** Server Receive Maximum (MQTT 5), 65535 otherwise. */
  receiveMaximum = 65535;
  closed = false;
  private readonly decoder: Decoder;
  private acks: Buffer = Buffer.allocUnsafe(256);
  private ackBytes = 0;
  private lastError: Error | undefined;
  private readonly version: 4 | 5;
  private readonly dispatch = (p: Packet): void => this.onPacket(p);

  private constructor(socket: Duplex, version: 4 | 5) {
    this.socket = socket;
    this.version = version;
    this.decoder = new Decoder({ protocolVersion: version, maximumPacketSize: 268_435_455 });
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (err) => {
      this.lastError = err;
    });
    // The broker ended its side: close ours too. A WebSocket's stream would otherwise stay
    // half open and never emit 'close' (a TCP socket ends itself; destroying it is harmless).
    socket.on('end', () => socket.destroy());
    socket.on('close', () => {
      this.closed = true;
      this.onClose(this.lastError);
    });
  }

  /** Opens a connection, sends CONNECT and resolves after a successful CONNACK. */
  static open(o: RawConnectOptions): Promise<RawConnection> {
    const socket = openStream(o);
    const conn = new RawConnection(socket, o.protocolVersion);
    socket.write(
      encode(
        {
          type: 'connect',
          protocolName: 'MQTT',
          protocolVersion: o.protocolVersion,
          clean: true,
          keepAlive: o.keepAlive,
          clientId: o.clientId,
          username: o.username,
          password: o.password === undefined ? undefined : Buffer.from(o.password),
        },
        o.protocolVersion,
      ),
    );
    return conn.expect('connack', o.timeoutMs).then((p) => {
      const ack = p as ConnackPacket;
      if (ack.reasonCode !== 0) {
        conn.destroy();
        throw new Error(`CONNACK refused: reason 0x${ack.reasonCode.toString(16)}`);
      }
      conn.receiveMaximum = ack.properties?.receiveMaximum ?? 65535;
      return conn;
    });
  }

  /** Subscribes to one filter and resolves with the granted QoS (rejects on failure). */
  async subscribe(filter: string, qos: QoS, timeoutMs: number): Promise<number> {
    const sub = {
      filter,
      qos,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 2 as const,
    };
    this.socket.write(
      encode({ type: 'subscribe', packetId: 1, subscriptions: [sub] }, this.version),
    );
    const ack = await this.expect('suback', timeoutMs);
    const code = ack.type === 'suback' ? (ack.reasonCodes[0] ?? 0x80) : 0x80;
    if (code >= 0x80) throw new Error(`SUBACK refused ${filter}: reason 0x${code.toString(16)}`);
    return code;
  }

  /** Waits for the next packet of `type` (others are ignored meanwhile). */
  expect(type: Packet['type'], timeoutMs: number): Promise<Packet> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.destroy();
        reject(new Error(`timed out waiting for ${type}`));
      }, timeoutMs);
      this.onPacket = (p) => {
        if (p.type !== type) return;
        clearTimeout(timer);
        this.onPacket = NO_PACKET;
        this.onClose = NO_PACKET;
        resolve(p);
      };
      this.onClose = (err) => {
        clearTimeout(timer);
        reject(err ?? new Error(`connection closed while waiting for ${type}`));
      };
    });
  }

  /** Queues a 4-byte acknowledgement; queued acks go out in one write after the chunk. */
  queueAck(firstByte: number, packetId: number): void {
    if (this.ackBytes + 4 > this.acks.length) {
      const bigger = Buffer.allocUnsafe(this.acks.length * 2);
      this.acks.copy(bigger, 0, 0, this.ackBytes);
      this.acks = bigger;
    }
    const b = this.acks;
    const o = this.ackBytes;
    b[o] = firstByte;
    b[o + 1] = 2;
    b[o + 2] = packetId >> 8;
    b[o + 3] = packetId & 0xff;
    this.ackBytes = o + 4;
  }

  /** Writes queued acks now. */
  flushAcks(): void {
    if (this.ackBytes === 0 || this.closed) return;
    this.socket.write(Buffer.from(this.acks.subarray(0, this.ackBytes)));
    this.ackBytes = 0;
  }

  /** Sends DISCONNECT and waits (bounded) for the server to close: its side keeps TIME_WAIT. */
  close(timeoutMs = 2000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.destroy();
        resolve();
      }, timeoutMs);
      this.onPacket = NO_PACKET;
      this.onClose = () => {
        clearTimeout(timer);
        resolve();
      };
      this.socket.write(Buffer.from([0xe0, 0x00]));
    });
  }

  /** Closes the socket at once. */
  destroy(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.chunkNs = nowNs();
    try {
      this.decoder.push(chunk, this.dispatch);
    } catch (err) {
      this.lastError = err as Error;
      this.destroy();
      return;
    }
    this.flushAcks();
    this.afterChunk();
  }
}
