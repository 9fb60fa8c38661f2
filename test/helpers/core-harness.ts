/**
 * Drives a BrokerCore without sockets: a fake connection sink that decodes what the broker
 * writes, so core tests send packets and read packets back.
 */
import {
  BrokerCore,
  type Connection,
  type ConnectionSink,
  type CoreOptions,
} from '../../src/core/index.js';
import type { ConnectPacket, Packet, ProtocolVersion } from '../../src/protocol/index.js';
import { Decoder, encode } from '../../src/protocol/index.js';
import { FakeClock } from './fake-clock.js';

/** A client as seen from the core: it sends packets and keeps what came back. */
export class FakeClient implements ConnectionSink {
  readonly received: Packet[] = [];
  ended = false;
  paused = false;
  bufferedBytes = 0;
  readonly connection: Connection;
  private readonly decoder: Decoder;

  constructor(
    readonly core: BrokerCore,
    readonly version: ProtocolVersion,
  ) {
    this.decoder = new Decoder({ protocolVersion: version });
    this.connection = core.openConnection(this, { listener: 'test', remoteAddress: '127.0.0.1' });
  }

  write(data: Buffer): void {
    this.decoder.push(data, (p) => this.received.push(p));
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  end(): void {
    this.ended = true;
  }

  /** Sends one packet to the broker. */
  send(packet: Packet): void {
    this.connection.receive(encode(packet, this.version));
  }

  /** Sends CONNECT with defaults. */
  connect(fields: Partial<ConnectPacket> = {}): void {
    this.send({
      type: 'connect',
      protocolName: this.version === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: this.version,
      clean: true,
      keepAlive: 0,
      clientId: 'c1',
      ...fields,
    });
  }

  /** Removes and returns what was received so far. */
  take(): Packet[] {
    return this.received.splice(0);
  }

  /** Received packets of one type. */
  ofType<T extends Packet['type']>(type: T): Extract<Packet, { type: T }>[] {
    return this.received.filter((p) => p.type === type) as Extract<Packet, { type: T }>[];
  }
}

/** A core on a fake clock. */
export function createTestCore(options: Partial<CoreOptions> = {}): {
  core: BrokerCore;
  clock: FakeClock;
} {
  const clock = new FakeClock();
  return { core: new BrokerCore({ options, clock }), clock };
}

/** Lets pending promises (async hooks) settle. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}
