/**
 * Drives a BrokerCore without sockets: a fake connection sink that decodes what the broker
 * writes, so core tests send packets and read packets back.
 */
import assert from 'node:assert/strict';
import { AdminApi } from '../../src/admin/index.js';
import {
  BrokerCore,
  type Connection,
  type ConnectionSink,
  type CoreOptions,
} from '../../src/core/index.js';
import type { BrokerStore } from '../../src/ports/index.js';
import type {
  ConnectPacket,
  Packet,
  Properties,
  ProtocolVersion,
  PublishPacket,
  QoS,
} from '../../src/protocol/index.js';
import { Decoder, encode } from '../../src/protocol/index.js';
import { FakeClock } from './fake-clock.js';
import { createTestStore, testStoreKind } from './test-store.js';

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

  /** False: the client stops reading, and everything written to it stays buffered. */
  reading = true;

  write(data: Buffer): void {
    this.decoder.push(data, (p) => this.received.push(p));
    if (!this.reading) this.bufferedBytes += data.length;
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
  /** The core's drain callback, until {@link drainOutput} calls it. */
  drainWaiter: (() => void) | undefined;
  notifyWhenDrained(drained: () => void): void {
    this.drainWaiter = drained;
  }
  /** The client read everything: nothing is buffered, and the core hears of it if it asked. */
  drainOutput(): void {
    this.bufferedBytes = 0;
    const waiter = this.drainWaiter;
    this.drainWaiter = undefined;
    waiter?.();
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

/**
 * The store PIPIT_TEST_STORE asks for (test-store.ts), opened, or undefined. Both stores open
 * synchronously (better-sqlite3 is synchronous), so a core can use it at once: a store that
 * did not would make the first write throw. A new store holds nothing, so the core needs no
 * `start()` (which would only restore an empty state).
 */
export function openTestStore(): BrokerStore | undefined {
  if (testStoreKind() === 'redis') {
    // Redis opens over the network: the first write would throw, and an unclosed connection
    // would hold the test process open. Brokers (test/integration) await open(); this does not.
    throw new Error(
      'the core harness needs a store that opens synchronously (memory or sqlite), not redis',
    );
  }
  const store = createTestStore();
  void store?.open();
  return store;
}

/**
 * A core on a fake clock, with the store PIPIT_TEST_STORE asks for; `{ store: 'none' }` for a
 * test of what the broker holds in memory when nothing is stored (e.g. an offline session's
 * queue, which a store keeps out of the heap).
 */
export function createTestCore(
  options: Partial<CoreOptions> = {},
  setup: { store?: 'none' } = {},
): {
  core: BrokerCore;
  clock: FakeClock;
  /** The read and command API over `core`, for what a test reads of the broker's state. */
  admin: AdminApi;
} {
  const clock = new FakeClock();
  const store = setup.store === 'none' ? undefined : openTestStore();
  const core = new BrokerCore({ options, clock, store });
  return { core, clock, admin: new AdminApi(core) };
}

/** Lets pending promises (async hooks) settle. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

/** A v5 client connected with CONNACK 0x00 taken off (later packets, e.g. resent ones, stay). */
export function connectV5(
  core: BrokerCore,
  clientId: string,
  properties?: Properties,
  fields: Partial<ConnectPacket> = {},
): FakeClient {
  const client = new FakeClient(core, 5);
  client.connect({ clientId, properties, ...fields });
  const connack = client.received.shift();
  assert.ok(connack?.type === 'connack' && connack.reasonCode === 0, 'CONNACK 0x00');
  return client;
}

/**
 * Subscribes one filter and checks the SUBACK granted `qos`, sent at once: for a session that
 * writes nothing to a store (a clean one, or any without a store). A persistent session's
 * SUBACK waits for the store's commit: use {@link subscribeSettled}.
 */
export function subscribe(client: FakeClient, filter: string, qos: QoS): void {
  sendSubscribe(client, filter, qos);
  checkSuback(client, qos);
}

/** Subscribes one filter and checks the SUBACK once what waits for a store commit went out. */
export async function subscribeSettled(
  client: FakeClient,
  filter: string,
  qos: QoS,
): Promise<void> {
  sendSubscribe(client, filter, qos);
  await flush();
  checkSuback(client, qos);
}

function sendSubscribe(client: FakeClient, filter: string, qos: QoS): void {
  client.send({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [{ filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
  });
}

function checkSuback(client: FakeClient, qos: QoS): void {
  const [suback] = client.take();
  assert.ok(
    suback?.type === 'suback',
    'SUBACK expected (with a store, a persistent session needs subscribeSettled)',
  );
  assert.deepEqual(suback.reasonCodes, [qos]);
}

/** Sends a PUBLISH on topic 't' with payload 'x' unless `fields` say otherwise. */
export function publish(client: FakeClient, fields: Partial<PublishPacket>): void {
  const qos = fields.qos ?? 0;
  client.send({
    type: 'publish',
    topic: 't',
    payload: Buffer.from('x'),
    qos,
    retain: false,
    dup: false,
    packetId: qos > 0 ? 1 : undefined,
    ...fields,
  });
}

/** The PUBLISH packets among `packets`. */
export function publishes(packets: Packet[]): PublishPacket[] {
  return packets.filter((p): p is PublishPacket => p.type === 'publish');
}
