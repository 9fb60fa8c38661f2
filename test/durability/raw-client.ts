/**
 * A bare MQTT client on a `node:net` socket with Pipit's codec, for exact control of the
 * packet flow in crash tests (e.g. withholding PUBREL). It does nothing on its own: no
 * acknowledgements, no keep alive, no reconnects.
 */
import { connect as netConnect, type Socket } from 'node:net';
import type {
  ConnackPacket,
  ConnectPacket,
  Packet,
  ProtocolVersion,
} from '../../src/protocol/index.js';
import { Decoder, encode } from '../../src/protocol/index.js';

/** CONNECT fields a test chooses. */
export type ConnectOptions = Omit<ConnectPacket, 'type' | 'protocolName' | 'keepAlive'> & {
  keepAlive?: number;
};

/** One connection to the broker. */
export class RawClient {
  /** Resolves when the socket has closed (for any reason). */
  readonly closed: Promise<void>;
  private readonly listeners = new Set<(packet: Packet) => void>();
  private isClosed = false;

  private constructor(
    private readonly socket: Socket,
    readonly version: ProtocolVersion,
  ) {
    const decoder = new Decoder({ protocolVersion: version });
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk, (packet) => {
          for (const fn of [...this.listeners]) fn(packet);
        });
      } catch {
        socket.destroy();
      }
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        resolve();
      }),
    );
  }

  /**
   * Connects and resolves with the client and its CONNACK (rejects on close or timeout).
   * `onPacket` is installed before CONNECT goes out: packets that follow CONNACK in the same
   * chunk (a resumed session's resends) are not missed.
   */
  static async connect(
    port: number,
    options: ConnectOptions,
    onPacket?: (client: RawClient, packet: Packet) => void,
    timeoutMs = 5000,
  ): Promise<{ client: RawClient; connack: ConnackPacket }> {
    const socket = netConnect({ port, host: '127.0.0.1' });
    socket.setNoDelay(true);
    const client = new RawClient(socket, options.protocolVersion);
    if (onPacket) client.on((packet) => onPacket(client, packet));
    const connack = client.next((p): p is ConnackPacket => p.type === 'connack', timeoutMs);
    client.send({
      type: 'connect',
      protocolName: 'MQTT',
      keepAlive: 0,
      ...options,
    } as ConnectPacket);
    try {
      return { client, connack: await connack };
    } catch (err) {
      client.destroy();
      throw err;
    }
  }

  /** True once the socket closed. */
  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** Encodes and writes a packet (ignored once closed). */
  send(packet: Packet): void {
    if (this.isClosed) return;
    this.socket.write(encode(packet, this.version));
  }

  /** Calls `fn` for every packet received; returns a function that stops it. */
  on(fn: (packet: Packet) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The next packet matching `match` (rejects when the socket closes first or on timeout). */
  next<T extends Packet>(match: (p: Packet) => p is T, timeoutMs = 5000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const stop = this.on((packet) => {
        if (!match(packet)) return;
        finish();
        resolve(packet);
      });
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no matching packet within ${timeoutMs} ms`));
      }, timeoutMs);
      const finish = (): void => {
        stop();
        clearTimeout(timer);
      };
      this.closed.then(() => {
        finish();
        reject(new Error('connection closed'));
      });
    });
  }

  /** Sends DISCONNECT and ends the socket. */
  disconnect(): void {
    this.send({ type: 'disconnect' });
    this.socket.end();
  }

  /** Closes the socket at once (no DISCONNECT). */
  destroy(): void {
    this.socket.destroy();
  }
}
