/**
 * The two sides of a crash test, on RawClient, keeping their MQTT client state across
 * broker restarts as a real client library would: the publisher remembers what is in flight
 * (and resends it after reconnecting, PUBREL for PUBREC'd QoS 2), the subscriber remembers
 * the QoS 2 packet ids it received and was not yet released from (so it delivers once).
 */
import type { Packet, ProtocolVersion, PublishPacket, QoS } from '../../src/protocol/index.js';
import { RawClient } from './raw-client.js';

/** Session Expiry Interval the v5 peers ask for (one hour). */
const V5_EXPIRY = 3600;

function connectFields(clientId: string, version: ProtocolVersion, clean: boolean) {
  return {
    protocolVersion: version,
    clientId,
    clean,
    properties: version === 5 ? { sessionExpiryInterval: V5_EXPIRY } : undefined,
  };
}

interface Outgoing {
  payload: string;
  qos: QoS;
  state: 'publish' | 'pubrel';
}

/** Publishes numbered messages as fast as its window allows and records what was acknowledged. */
export class Publisher {
  /** Payloads whose PUBACK (QoS 1) or PUBREC (QoS 2) arrived. */
  readonly acknowledged = new Set<string>();
  /** QoS 2 payloads whose PUBCOMP arrived. */
  readonly completed = new Set<string>();
  /** Refused acknowledgements (reason code >= 0x80), by reason code. */
  readonly refused = new Map<number, number>();
  /** While true, PUBREL is not sent after PUBREC (the message stays between the two). */
  holdPubrel = false;
  client: RawClient | undefined;
  private readonly inflight = new Map<number, Outgoing>();
  private seq = 0;
  private nextId = 1;
  private limit = 0;
  private qos: QoS = 1;
  private window = 50;
  private waiters: { count: number; resolve: () => void }[] = [];

  constructor(
    readonly clientId: string,
    readonly version: ProtocolVersion,
    readonly topic: string,
  ) {}

  /** Messages sent and not yet completed. */
  get pending(): number {
    return this.inflight.size;
  }

  /** Payloads of QoS 2 messages between PUBREC and PUBCOMP. */
  get betweenRecAndComp(): string[] {
    return [...this.inflight.values()].filter((o) => o.state === 'pubrel').map((o) => o.payload);
  }

  /**
   * Connects with a persistent session (Clean Session 0 / v5 expiry) and resends what is in
   * flight in order [MQTT-4.4.0-1]: PUBLISH with DUP, PUBREL for PUBREC'd QoS 2.
   */
  async connect(port: number, clean = false): Promise<boolean> {
    const { client, connack } = await RawClient.connect(
      port,
      connectFields(this.clientId, this.version, clean),
      (c, packet) => {
        this.client = c;
        this.onPacket(packet);
      },
    );
    if (connack.reasonCode !== 0) throw new Error(`CONNACK ${connack.reasonCode}`);
    this.client = client;
    for (const [packetId, o] of this.inflight) {
      if (o.state === 'pubrel') client.send({ type: 'pubrel', packetId });
      else client.send(this.publishPacket(packetId, o, true));
    }
    return connack.sessionPresent;
  }

  /** Starts sending up to `count` more messages at `qos`, at most `window` unacknowledged. */
  start(count: number, qos: QoS, window = 50): void {
    this.limit = this.seq + count;
    this.qos = qos;
    this.window = window;
    this.pump();
  }

  /** Resolves once `count` messages in total were acknowledged; rejects after `timeoutMs`. */
  whenAcknowledged(count: number, timeoutMs = 20_000): Promise<void> {
    if (this.acknowledged.size >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`only ${this.acknowledged.size} of ${count} acknowledged`));
      }, timeoutMs);
      const waiter = {
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Number of messages sent so far. */
  get sent(): number {
    return this.seq;
  }

  private publishPacket(packetId: number, o: Outgoing, dup: boolean): PublishPacket {
    return {
      type: 'publish',
      topic: this.topic,
      payload: Buffer.from(o.payload),
      qos: o.qos,
      retain: false,
      dup,
      packetId,
    };
  }

  private pump(): void {
    const client = this.client;
    while (client?.isOpen && this.seq < this.limit && this.inflight.size < this.window) {
      const payload = `${this.clientId}:${this.seq++}`;
      let id = this.nextId;
      while (this.inflight.has(id)) id = id === 65535 ? 1 : id + 1;
      this.nextId = id === 65535 ? 1 : id + 1;
      const o: Outgoing = { payload, qos: this.qos, state: 'publish' };
      this.inflight.set(id, o);
      client.send(this.publishPacket(id, o, false));
    }
  }

  private readonly onPacket = (packet: Packet): void => {
    if (packet.type === 'puback' || packet.type === 'pubrec') {
      const o = this.inflight.get(packet.packetId);
      if (o?.state !== 'publish') return;
      const code = packet.reasonCode ?? 0;
      if (code >= 0x80) {
        this.refused.set(code, (this.refused.get(code) ?? 0) + 1);
        this.inflight.delete(packet.packetId);
      } else {
        this.acknowledged.add(o.payload);
        if (packet.type === 'puback') this.inflight.delete(packet.packetId);
        else {
          o.state = 'pubrel';
          if (!this.holdPubrel) this.client?.send({ type: 'pubrel', packetId: packet.packetId });
        }
      }
      this.settleWaiters();
      this.pump();
    } else if (packet.type === 'pubcomp') {
      const o = this.inflight.get(packet.packetId);
      if (o?.state !== 'pubrel') return;
      this.inflight.delete(packet.packetId);
      this.completed.add(o.payload);
      this.pump();
    }
  };

  private settleWaiters(): void {
    const n = this.acknowledged.size;
    this.waiters = this.waiters.filter((w) => {
      if (n < w.count) return true;
      w.resolve();
      return false;
    });
  }
}

/** One delivery as the subscriber saw it. */
export interface Received {
  payload: string;
  qos: QoS;
  dup: boolean;
  /** Which connection of the subscriber it came on (0 = the first). */
  connection: number;
}

/**
 * A persistent subscriber. Delivers each QoS 2 message to the "application" (`counts`)
 * once per packet id until PUBREL [MQTT-4.3.3-10] (method B of the spec).
 */
export class Subscriber {
  /** Deliveries to the application, by payload. */
  readonly counts = new Map<string, number>();
  /** Every PUBLISH received, in order (QoS 2 repeats of a held id included). */
  readonly log: Received[] = [];
  /** QoS 1 payloads received but not acknowledged (while `ackQos1` is false). */
  readonly unacknowledged = new Set<string>();
  /** While false, QoS 1 messages are not acknowledged (they stay in flight at the broker). */
  ackQos1 = true;
  client: RawClient | undefined;
  private readonly qos2Held = new Set<number>();
  private connections = -1;

  constructor(
    readonly clientId: string,
    readonly version: ProtocolVersion,
  ) {}

  /** Connects (persistent session unless `clean`); resolves with Session Present. */
  async connect(port: number, clean = false): Promise<boolean> {
    const { client, connack } = await RawClient.connect(
      port,
      connectFields(this.clientId, this.version, clean),
      (c, packet) => {
        if (c !== this.client) {
          // Packets that follow CONNACK in the same chunk: this is the new connection.
          if (packet.type === 'connack') return;
          this.adopt(c);
        }
        this.onPacket(packet);
      },
    );
    if (connack.reasonCode !== 0) throw new Error(`CONNACK ${connack.reasonCode}`);
    this.adopt(client);
    return connack.sessionPresent;
  }

  private adopt(client: RawClient): void {
    if (this.client === client) return;
    this.connections++;
    this.client = client;
  }

  /** Subscribes and resolves with the granted codes. */
  async subscribe(filter: string, qos: QoS): Promise<number[]> {
    const client = this.client!;
    const packetId = 1;
    const suback = client.next(
      (p): p is Extract<Packet, { type: 'suback' }> => p.type === 'suback',
    );
    client.send({
      type: 'subscribe',
      packetId,
      subscriptions: [{ filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
    });
    return (await suback).reasonCodes;
  }

  /** QoS 2 packet ids received and not yet released by PUBREL. */
  get held(): number {
    return this.qos2Held.size;
  }

  /** Number of distinct payloads delivered. */
  get distinct(): number {
    return this.counts.size;
  }

  private readonly onPacket = (packet: Packet): void => {
    const client = this.client!;
    if (packet.type === 'pubrel') {
      this.qos2Held.delete(packet.packetId);
      client.send({ type: 'pubcomp', packetId: packet.packetId });
      return;
    }
    if (packet.type !== 'publish') return;
    const payload = packet.payload.toString();
    this.log.push({ payload, qos: packet.qos, dup: packet.dup, connection: this.connections });
    const id = packet.packetId!;
    if (packet.qos === 2) {
      if (!this.qos2Held.has(id)) {
        this.qos2Held.add(id);
        this.deliver(payload);
      }
      client.send({ type: 'pubrec', packetId: id });
      return;
    }
    this.deliver(payload);
    if (packet.qos === 1) {
      if (this.ackQos1) client.send({ type: 'puback', packetId: id });
      else this.unacknowledged.add(payload);
    }
  };

  private deliver(payload: string): void {
    this.counts.set(payload, (this.counts.get(payload) ?? 0) + 1);
  }
}

/** Payloads of `expected` the subscriber never got. */
export function missing(expected: Iterable<string>, subscriber: Subscriber): string[] {
  const out: string[] = [];
  for (const p of expected) if (!subscriber.counts.has(p)) out.push(p);
  return out;
}
