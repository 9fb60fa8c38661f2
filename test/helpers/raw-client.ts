/**
 * A raw MQTT peer over `node:net` for hostile-input tests: it writes exact bytes (valid or
 * not), decodes what the broker answers with the codec's Decoder, and waits for the close
 * with a bound. It never acknowledges, pings or reconnects on its own.
 */
import { connect as netConnect, type Socket } from 'node:net';
import type {
  ConnackPacket,
  ConnectPacket,
  Packet,
  ProtocolVersion,
} from '../../src/protocol/index.js';
import { Decoder, encode } from '../../src/protocol/index.js';

/** Bytes from spaced hex, e.g. `hex('10 0d 00 04')`. */
export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/** Hex of an MQTT UTF-8 string field (2-byte length, then the bytes). */
export function str(s: string): string {
  const b = Buffer.from(s, 'utf8');
  return b.length.toString(16).padStart(4, '0') + b.toString('hex');
}

/** Variable byte integer (Remaining Length) encoding of `n`. */
export function varint(n: number): Buffer {
  const out: number[] = [];
  let rest = n;
  do {
    let digit = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) digit |= 0x80;
    out.push(digit);
  } while (rest > 0);
  return Buffer.from(out);
}

/** A packet from its first byte and body hex; the remaining length is computed. */
export function pkt(first: number, body: string): Buffer {
  const b = hex(body);
  return Buffer.concat([Buffer.from([first]), varint(b.length), b]);
}

/** A valid CONNECT at `version` (clean start, keep alive 0). */
export function connectBytes(
  version: ProtocolVersion,
  clientId: string,
  fields: Partial<ConnectPacket> = {},
): Buffer {
  return encode(
    {
      type: 'connect',
      protocolName: version === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: version,
      clean: true,
      keepAlive: 0,
      clientId,
      ...fields,
    } as ConnectPacket,
    version,
  );
}

/** One raw connection. */
export class RawClient {
  /** Every packet the broker sent, in order. */
  readonly received: Packet[] = [];
  /** Set when the broker's bytes could not be decoded. */
  decodeError: unknown;
  /** Resolves once the socket has closed (for any reason). */
  readonly closed: Promise<void>;
  private isClosed = false;
  private readonly waiters = new Set<() => void>();

  private constructor(
    readonly socket: Socket,
    readonly version: ProtocolVersion,
  ) {
    const decoder = new Decoder({ protocolVersion: version });
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk, (packet) => this.received.push(packet));
      } catch (err) {
        this.decodeError = err;
      }
      this.wake();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.wake();
        resolve();
      }),
    );
  }

  /** Opens a TCP connection to 127.0.0.1:`port` (rejects when refused). */
  static open(port: number, version: ProtocolVersion = 4): Promise<RawClient> {
    return RawClient.openFrom(port, version, undefined);
  }

  /**
   * Opens a TCP connection to 127.0.0.1:`port` from `localAddress` (another loopback address
   * such as 127.0.0.7 looks like another source to per-address limits).
   */
  static openFrom(
    port: number,
    version: ProtocolVersion,
    localAddress: string | undefined,
  ): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ port, host: '127.0.0.1', localAddress });
      socket.setNoDelay(true);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket, version));
      });
      socket.once('error', reject);
    });
  }

  /** Opens a connection, sends a valid CONNECT and waits for CONNACK 0x00. */
  static async connected(
    port: number,
    version: ProtocolVersion,
    clientId: string,
    fields: Partial<ConnectPacket> = {},
  ): Promise<RawClient> {
    const client = await RawClient.open(port, version);
    client.write(connectBytes(version, clientId, fields));
    const connack = (await client.next('connack')) as ConnackPacket;
    if (connack.reasonCode !== 0) {
      client.destroy();
      throw new Error(`CONNACK 0x${connack.reasonCode.toString(16)} for ${clientId}`);
    }
    return client;
  }

  /** True once the socket closed. */
  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** Writes raw bytes (ignored once closed). */
  write(bytes: Buffer): void {
    if (!this.isClosed && !this.socket.destroyed) this.socket.write(bytes);
  }

  /** Encodes and writes a packet in this client's version. */
  send(packet: Packet): void {
    this.write(encode(packet, this.version));
  }

  /**
   * Resolves with the first received packet of `type` not taken before (removing it from
   * `received`); rejects after `timeoutMs` or when the socket closes without one.
   */
  async next<T extends Packet['type']>(
    type: T,
    timeoutMs = 5000,
  ): Promise<Extract<Packet, { type: T }>> {
    const found = await this.until(
      () => this.received.findIndex((p) => p.type === type) >= 0,
      timeoutMs,
      `a ${type}`,
    );
    if (!found) throw new Error(`connection closed before a ${type}`);
    const index = this.received.findIndex((p) => p.type === type);
    return this.received.splice(index, 1)[0] as Extract<Packet, { type: T }>;
  }

  /** Resolves once the socket has closed; rejects after `timeoutMs`. */
  async waitClose(timeoutMs = 5000): Promise<void> {
    await this.until(() => this.isClosed, timeoutMs, 'the close');
  }

  /**
   * Waits until `predicate` holds (checked on every chunk and on close). Resolves true when
   * it held, false when the socket closed first; rejects after `timeoutMs`.
   */
  until(predicate: () => boolean, timeoutMs: number, what = 'a condition'): Promise<boolean> {
    if (predicate()) return Promise.resolve(true);
    if (this.isClosed) return Promise.resolve(false);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (predicate()) done(true);
        else if (this.isClosed) done(false);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const done = (value: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(value);
      };
      this.waiters.add(check);
    });
  }

  /** Closes the socket at once. */
  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const check of [...this.waiters]) check();
  }
}

/**
 * Proves the broker still serves: a new v3.1.1 client connects, subscribes, publishes to
 * itself and receives the message. Rejects with what failed.
 */
export async function roundTrip(port: number, tag: string): Promise<void> {
  const client = await RawClient.connected(port, 4, `health-${tag}`);
  try {
    const topic = `health/${tag}`;
    client.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { filter: topic, qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    await client.next('suback');
    client.send({
      type: 'publish',
      topic,
      payload: Buffer.from(tag),
      qos: 0,
      retain: false,
      dup: false,
    });
    const message = await client.next('publish');
    if (message.payload.toString() !== tag) throw new Error('round trip returned another payload');
  } finally {
    client.destroy();
  }
}
