/**
 * Helpers for the conformance tests: a broker on a free port, raw clients that speak exact
 * packets, the raw bytes the broker sent, and barriers that prove something did not arrive
 * without waiting for a while. Not a test file.
 */
import type {
  ConnackPacket,
  ConnectPacket,
  Packet,
  ProtocolVersion,
} from '../../src/protocol/index.js';
import type {
  PublishPacket,
  QoS,
  SubackPacket,
  SubscriptionRequest,
  UnsubackPacket,
} from '../../src/protocol/packets.js';
import type { TestBroker } from '../helpers/broker.js';
import { waitFor } from '../helpers/broker.js';
import { connectBytes, RawClient } from '../helpers/raw-client.js';

/** A subscription request with the MQTT 5 options at their defaults. */
export function sub(
  filter: string,
  qos: QoS = 0,
  options: Partial<SubscriptionRequest> = {},
): SubscriptionRequest {
  return { filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0, ...options };
}

/** A PUBLISH packet (packet id 1 unless given for QoS > 0). */
export function publishPacket(
  topic: string,
  payload: string | Buffer,
  qos: QoS = 0,
  fields: Partial<PublishPacket> = {},
): PublishPacket {
  return {
    type: 'publish',
    topic,
    payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
    qos,
    retain: false,
    dup: false,
    packetId: qos > 0 ? 1 : undefined,
    ...fields,
  };
}

/** Sends SUBSCRIBE and resolves with its SUBACK. */
export async function subscribe(
  client: RawClient,
  subscriptions: SubscriptionRequest[],
  packetId = 1,
): Promise<SubackPacket> {
  client.send({ type: 'subscribe', packetId, subscriptions });
  return client.next('suback');
}

/** Sends UNSUBSCRIBE and resolves with its UNSUBACK. */
export async function unsubscribe(
  client: RawClient,
  filters: string[],
  packetId = 1,
): Promise<UnsubackPacket> {
  client.send({ type: 'unsubscribe', packetId, filters });
  return client.next('unsuback');
}

/** Opens a connection, sends CONNECT and resolves with the client and its CONNACK. */
export async function connectRaw(
  port: number,
  version: ProtocolVersion,
  clientId: string,
  fields: Partial<ConnectPacket> = {},
): Promise<{ client: RawClient; connack: ConnackPacket }> {
  const client = await RawClient.open(port, version);
  client.write(connectBytes(version, clientId, fields));
  const connack = await client.next('connack');
  return { client, connack };
}

/**
 * A PINGREQ round trip: the broker handles a connection's packets in order, so once the
 * PINGRESP is back every answer to what this client sent before has been sent too.
 */
export async function settle(client: RawClient): Promise<void> {
  client.send({ type: 'pingreq' });
  await client.next('pingresp');
}

/** PUBLISH packets received and not taken yet, removed from `received`. */
export function takePublishes(client: RawClient): PublishPacket[] {
  const out: PublishPacket[] = [];
  for (let i = 0; i < client.received.length; ) {
    const p = client.received[i]!;
    if (p.type === 'publish') {
      out.push(p);
      client.received.splice(i, 1);
    } else i++;
  }
  return out;
}

/**
 * Every PUBLISH the client receives up to and including one on `sentinel`. Messages of one
 * publisher reach a subscriber in order, so publishing the sentinel last proves what else
 * was going to arrive has arrived.
 */
export async function publishesUntil(
  client: RawClient,
  sentinel: string,
): Promise<PublishPacket[]> {
  await client.until(
    () => client.received.some((p) => p.type === 'publish' && p.topic === sentinel),
    5000,
    `a PUBLISH on ${sentinel}`,
  );
  return takePublishes(client).filter((p) => p.topic !== sentinel);
}

/** Records the raw bytes the broker sends on `client` from now on. */
export function recordBytes(client: RawClient): () => Buffer {
  const chunks: Buffer[] = [];
  client.socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  return () => Buffer.concat(chunks);
}

/** Splits a byte stream into whole packets by their remaining length. */
export function splitPackets(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    let length = 0;
    let multiplier = 1;
    let i = at + 1;
    for (;;) {
      const b = bytes[i++]!;
      length += (b & 0x7f) * multiplier;
      multiplier *= 128;
      if ((b & 0x80) === 0) break;
    }
    out.push(bytes.subarray(at, i + length));
    at = i + length;
  }
  return out;
}

/** The raw packets of one type (by the high nibble of the first byte). */
export function rawPackets(bytes: Buffer, type: number): Buffer[] {
  return splitPackets(bytes).filter((p) => p[0]! >> 4 === type);
}

/** Waits until the broker holds no connection (every close has been handled). */
export async function allClosed(tb: TestBroker): Promise<void> {
  await waitFor(
    async () => (await tb.broker.admin.counters()).connectionsOpen === 0,
    5000,
    'every connection closed',
  );
}

/** Waits until the broker holds no connection for `clientId` (its close has been handled). */
export async function gone(tb: TestBroker, clientId: string): Promise<void> {
  const open = () => [...tb.broker.core.connections].some((c) => c.client.clientId === clientId);
  await waitFor(() => !open(), 5000, `the connection of ${clientId} closed`);
}

/** Waits until the broker holds exactly `n` connections. */
export async function connectionsAre(tb: TestBroker, n: number): Promise<void> {
  await waitFor(
    async () => (await tb.broker.admin.counters()).connectionsOpen === n,
    5000,
    `${n} connections`,
  );
}

/** The packet types a client received, in order. */
export function types(packets: Packet[]): string[] {
  return packets.map((p) => p.type);
}
