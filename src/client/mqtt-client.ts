/**
 * A small MQTT 3.1 / 3.1.1 / 5.0 client on Pipit's codec: publish at QoS 0/1/2,
 * subscribe, unsubscribe, receive with QoS 1/2 acknowledgements, keepalive, clean
 * disconnect. Create one with `connect()` (connect.ts).
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { MqttError } from '../protocol/errors.js';
import { Decoder, encode } from '../protocol/index.js';
import type {
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  Packet,
  ProtocolVersion,
  PublishPacket,
  SubscriptionRequest,
} from '../protocol/packets.js';
import { KeepAlive } from './keepalive.js';
import type { PublishOptions, SubscribeOptions } from './options.js';
import { PacketIdAllocator } from './packet-ids.js';

/** The events a client emits. */
export interface MqttClientEvents {
  /** An application message from the server (emitted once per QoS 2 message). */
  message: [topic: string, payload: Buffer, packet: PublishPacket];
  /** The server sent DISCONNECT (MQTT 5); 'close' follows. */
  disconnect: [packet: DisconnectPacket];
  /** Emitted only when listened to: a failure that closes the connection. */
  error: [error: Error];
  /** The connection is gone; `error` is why, undefined after a clean `end()`. */
  close: [error: Error | undefined];
}

type Pending =
  | { kind: 'publish'; resolve: () => void; reject: (e: Error) => void }
  | {
      kind: 'subscribe' | 'unsubscribe';
      resolve: (c: number[]) => void;
      reject: (e: Error) => void;
    };

type State = 'connecting' | 'connected' | 'closing' | 'closed';

const isFailure = (code: number | undefined): boolean => (code ?? 0) >= 0x80;

/** One connection to an MQTT server. */
export class MqttClient extends EventEmitter<MqttClientEvents> {
  /** Client identifier; the server-assigned one when the server chose it (MQTT 5). */
  clientId: string;
  /** The server's CONNACK. */
  connack: ConnackPacket | undefined;
  private state: State = 'connecting';
  private readonly decoder: Decoder;
  private readonly ids = new PacketIdAllocator();
  private readonly pending = new Map<number, Pending>();
  /** Inbound QoS 2 packet ids delivered but not yet released (PUBREL). */
  private readonly inboundQos2 = new Set<number>();
  /** Outgoing QoS 1/2 publishes allowed before an acknowledgement (MQTT 5 Receive Maximum). */
  private sendQuota = 65535;
  private readonly quotaWaiters: (() => void)[] = [];
  private keepAlive: KeepAlive | undefined;
  private closeError: Error | undefined;
  private handshake: { resolve: () => void; reject: (e: Error) => void } | undefined;

  /** Use `connect()`; the constructor only wires a socket that is already open. */
  constructor(
    private readonly socket: Socket,
    readonly protocolVersion: ProtocolVersion,
    private readonly connectPacket: ConnectPacket,
    maximumPacketSize?: number,
  ) {
    super();
    this.clientId = connectPacket.clientId;
    this.decoder = new Decoder({ protocolVersion, maximumPacketSize });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(chunk, (p) => this.handle(p));
      } catch (err) {
        this.destroy(err as Error);
      }
    });
    socket.on('error', (err) => {
      this.closeError ??= err;
    });
    socket.on('close', () => this.onSocketClose());
  }

  /** True between a successful CONNACK and the start of closing. */
  get connected(): boolean {
    return this.state === 'connected';
  }

  /** Sends CONNECT and resolves on a successful CONNACK (rejects with MqttError otherwise). */
  start(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.destroy(new Error(`no CONNACK within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.handshake = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.send(this.connectPacket);
    });
  }

  /**
   * Publishes a message. QoS 0 resolves once written; QoS 1 on PUBACK; QoS 2 on PUBCOMP.
   * Rejects with MqttError when an MQTT 5 server answers with a failure reason code.
   */
  async publish(topic: string, payload: string | Buffer, o: PublishOptions = {}): Promise<void> {
    const qos = o.qos ?? 0;
    const packet: PublishPacket = {
      type: 'publish',
      topic,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      qos,
      retain: o.retain ?? false,
      dup: false,
      properties: o.properties,
    };
    this.assertOpen();
    if (qos === 0) {
      await this.sendAndFlush(packet);
      return;
    }
    await this.acquireQuota();
    this.assertOpen();
    const packetId = this.ids.allocate();
    await new Promise<void>((resolve, reject) => {
      this.pending.set(packetId, { kind: 'publish', resolve, reject });
      this.send({ ...packet, packetId });
    });
  }

  /**
   * Subscribes to filters (strings take `o`'s options) and resolves with one reason code
   * per filter: the granted QoS, or a failure code >= 0x80.
   */
  subscribe(
    filters: string | readonly (string | SubscriptionRequest)[],
    o: SubscribeOptions = {},
  ): Promise<number[]> {
    const list = typeof filters === 'string' ? [filters] : filters;
    const subscriptions = list.map(
      (f): SubscriptionRequest =>
        typeof f === 'string'
          ? {
              filter: f,
              qos: o.qos ?? 0,
              noLocal: o.noLocal ?? false,
              retainAsPublished: o.retainAsPublished ?? false,
              retainHandling: o.retainHandling ?? 0,
            }
          : f,
    );
    return this.request('subscribe', (packetId) => ({
      type: 'subscribe',
      packetId,
      subscriptions,
      properties: o.properties,
    }));
  }

  /** Unsubscribes; resolves with the MQTT 5 reason codes (empty for 3.x). */
  unsubscribe(filters: string | readonly string[]): Promise<number[]> {
    const list = typeof filters === 'string' ? [filters] : [...filters];
    return this.request('unsubscribe', (packetId) => ({
      type: 'unsubscribe',
      packetId,
      filters: list,
    }));
  }

  /** Sends DISCONNECT and closes the connection [MQTT-3.14.4-1]; resolves once closed. */
  async end(reasonCode = 0): Promise<void> {
    if (this.state === 'closed') return;
    const closed = new Promise<void>((resolve) => this.once('close', () => resolve()));
    if (this.state === 'connected') {
      this.state = 'closing';
      const packet: DisconnectPacket = { type: 'disconnect' };
      if (this.protocolVersion === 5 && reasonCode !== 0) packet.reasonCode = reasonCode;
      this.send(packet);
      this.socket.end();
      const timer = setTimeout(() => this.socket.destroy(), 2000);
      timer.unref();
    } else this.socket.destroy();
    await closed;
  }

  /** Closes the connection at once, without DISCONNECT (the server then sends the will). */
  destroy(err?: Error): void {
    if (err) this.closeError ??= err;
    this.socket.destroy();
  }

  private request(
    kind: 'subscribe' | 'unsubscribe',
    build: (packetId: number) => Packet,
  ): Promise<number[]> {
    this.assertOpen();
    const packetId = this.ids.allocate();
    return new Promise((resolve, reject) => {
      this.pending.set(packetId, { kind, resolve, reject });
      this.send(build(packetId));
    });
  }

  private assertOpen(): void {
    if (this.state !== 'connected') throw new Error(`client is ${this.state}`);
  }

  private send(packet: Packet): void {
    this.socket.write(encode(packet, this.protocolVersion));
    this.keepAlive?.sent();
  }

  private sendAndFlush(packet: Packet): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(encode(packet, this.protocolVersion), (err) =>
        err ? reject(err) : resolve(),
      );
      this.keepAlive?.sent();
    });
  }

  private acquireQuota(): Promise<void> {
    if (this.sendQuota > 0) {
      this.sendQuota--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.quotaWaiters.push(resolve));
  }

  private releaseQuota(): void {
    const next = this.quotaWaiters.shift();
    if (next) next();
    else this.sendQuota++;
  }

  private handle(p: Packet): void {
    if (this.state === 'connecting') {
      this.handleConnack(p);
      return;
    }
    switch (p.type) {
      case 'publish':
        this.handlePublish(p);
        break;
      case 'pubrel':
        // [MQTT-4.3.3-2] release the id and answer PUBREL with PUBCOMP.
        this.inboundQos2.delete(p.packetId);
        this.send({ type: 'pubcomp', packetId: p.packetId });
        break;
      case 'puback':
      case 'pubcomp':
        this.settlePublish(p.packetId, p.reasonCode, p.type);
        break;
      case 'pubrec':
        if (isFailure(p.reasonCode)) this.settlePublish(p.packetId, p.reasonCode, 'pubrec');
        // [MQTT-4.3.3-1] the sender answers PUBREC with PUBREL.
        else this.send({ type: 'pubrel', packetId: p.packetId });
        break;
      case 'suback':
      case 'unsuback':
        this.settleRequest(p.packetId, p.type, p.reasonCodes);
        break;
      case 'pingresp':
        this.keepAlive?.pong();
        break;
      case 'disconnect':
        this.closeError ??= new MqttError(p.reasonCode ?? 0, 'server sent DISCONNECT');
        this.emit('disconnect', p);
        this.socket.end();
        break;
      default:
        this.destroy(new MqttError(0x82, `unexpected ${p.type} from server`));
    }
  }

  private handleConnack(p: Packet): void {
    if (p.type !== 'connack') {
      // [MQTT-3.2.0-1] the first packet from the server must be CONNACK.
      this.destroy(new MqttError(0x82, `expected CONNACK, got ${p.type}`, 'MQTT-3.2.0-1'));
      return;
    }
    if (p.reasonCode !== 0) {
      this.destroy(
        new MqttError(p.reasonCode, `connection refused (0x${p.reasonCode.toString(16)})`),
      );
      return;
    }
    this.connack = p;
    this.state = 'connected';
    const props = p.properties;
    if (props?.assignedClientIdentifier) this.clientId = props.assignedClientIdentifier;
    this.sendQuota = props?.receiveMaximum ?? 65535;
    // [MQTT-3.2.2-21] a Server Keep Alive replaces the client's own value.
    const seconds = props?.serverKeepAlive ?? this.connectPacket.keepAlive;
    this.keepAlive = new KeepAlive(
      seconds * 1000,
      () => this.send({ type: 'pingreq' }),
      () => this.destroy(new Error('keepalive timeout: no PINGRESP')),
    );
    this.keepAlive.start();
    this.handshake?.resolve();
    this.handshake = undefined;
  }

  private handlePublish(p: PublishPacket): void {
    if (p.qos === 2) {
      // Exactly once: a re-sent PUBLISH whose id is not yet released is not delivered again.
      const fresh = !this.inboundQos2.has(p.packetId!);
      this.inboundQos2.add(p.packetId!);
      if (fresh) this.emit('message', p.topic, p.payload, p);
      this.send({ type: 'pubrec', packetId: p.packetId! });
      return;
    }
    this.emit('message', p.topic, p.payload, p);
    // [MQTT-4.3.2-2] acknowledge QoS 1 with PUBACK carrying the same packet id.
    if (p.qos === 1) this.send({ type: 'puback', packetId: p.packetId! });
  }

  private settlePublish(packetId: number, reasonCode: number | undefined, via: string): void {
    const op = this.pending.get(packetId);
    if (op?.kind !== 'publish') return;
    this.pending.delete(packetId);
    this.ids.release(packetId);
    this.releaseQuota();
    if (isFailure(reasonCode)) {
      op.reject(
        new MqttError(reasonCode!, `publish refused by ${via} (0x${reasonCode!.toString(16)})`),
      );
    } else op.resolve();
  }

  private settleRequest(packetId: number, via: 'suback' | 'unsuback', codes: number[]): void {
    const op = this.pending.get(packetId);
    if (!op || op.kind !== (via === 'suback' ? 'subscribe' : 'unsubscribe')) return;
    this.pending.delete(packetId);
    this.ids.release(packetId);
    (op.resolve as (c: number[]) => void)(codes);
  }

  private onSocketClose(): void {
    const wasClosing = this.state === 'closing';
    this.state = 'closed';
    this.keepAlive?.stop();
    const err = this.closeError ?? (wasClosing ? undefined : new Error('connection closed'));
    const failure = err ?? new Error('connection closed');
    for (const op of this.pending.values()) op.reject(failure);
    this.pending.clear();
    // Publishes waiting for quota wake up and fail on the closed state.
    for (const wake of this.quotaWaiters.splice(0)) wake();
    this.handshake?.reject(failure);
    this.handshake = undefined;
    if (err && this.listenerCount('error') > 0) this.emit('error', err);
    this.emit('close', err);
  }
}
