/**
 * A small MQTT 3.1 / 3.1.1 / 5.0 client on Pipit's codec: publish at QoS 0/1/2,
 * subscribe, unsubscribe, receive with QoS 1/2 acknowledgements, keepalive, clean
 * disconnect. Create one with `connect()` (connect.ts), or keep one connected across
 * failures with `ReconnectingClient`.
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
  PubackPacket,
  PubcompPacket,
  PublishPacket,
  PubrecPacket,
  SubscriptionRequest,
} from '../protocol/packets.js';
import type { Properties } from '../protocol/properties.js';
import { validateTopicFilter, validateTopicName } from '../protocol/topic-validation.js';
import type { ConnectionSettings, MqttClientEvents } from './client-types.js';
import { ConnectRefusedError, ServerDisconnectError } from './errors.js';
import { KeepAlive } from './keepalive.js';
import type { PublishOptions, SubscribeOptions, UnsubscribeOptions } from './options.js';
import { PendingOperations } from './pending-operations.js';
import { encodePublish } from './publish-encoding.js';
import { describeWithReasonString } from './reason-names.js';
import { SendQuota } from './send-quota.js';

export type { ConnectionSettings, MqttClientEvents } from './client-types.js';

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
  private readonly pending = new PendingOperations();
  /** Inbound QoS 2 packet ids delivered but not yet released (PUBREL). */
  private readonly inboundQos2 = new Set<number>();
  private readonly maxInflight: number;
  private readonly quota: SendQuota;
  private readonly trace: ConnectionSettings['trace'];
  /** Protocol level of the connection (3 = MQTT 3.1, 4 = 3.1.1, 5 = 5.0). */
  readonly protocolVersion: ProtocolVersion;
  private keepAlive: KeepAlive | undefined;
  private closeError: Error | undefined;
  private handshake: { resolve: () => void; reject: (e: Error) => void } | undefined;

  /** Use `connect()`; the constructor only wires a socket that is already open. */
  constructor(
    private readonly socket: Socket,
    private readonly connectPacket: ConnectPacket,
    settings: ConnectionSettings = {},
  ) {
    super();
    this.clientId = connectPacket.clientId;
    this.protocolVersion = connectPacket.protocolVersion;
    this.maxInflight = settings.maxInflight ?? 65535;
    this.quota = new SendQuota(this.maxInflight);
    this.trace = settings.trace;
    this.decoder = new Decoder({
      protocolVersion: this.protocolVersion,
      maximumPacketSize: settings.maximumPacketSize,
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(chunk, (p) => {
          this.trace?.('received', p);
          this.handle(p);
        });
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

  /** The server's MQTT 5 Maximum Packet Size, when it announced one. */
  get serverMaximumPacketSize(): number | undefined {
    return this.connack?.properties?.maximumPacketSize;
  }

  /**
   * Publishes a message. QoS 0 resolves once written; QoS 1 on PUBACK; QoS 2 on PUBCOMP.
   * Rejects with MqttError, sending nothing, for a topic that is not a valid topic name
   * (0x90) or a packet over the server's Maximum Packet Size (0x95); and when an MQTT 5
   * server answers with a failure reason code.
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
    // An empty topic is allowed only with a topic alias [MQTT-3.3.2-1, MQTT-3.3.4-11].
    validateTopicName(topic, o.properties?.topicAlias !== undefined);
    if (qos === 0) {
      await this.sendAndFlush(
        encodePublish(packet, this.protocolVersion, this.serverMaximumPacketSize),
        packet,
      );
      return;
    }
    await this.quota.acquire();
    this.assertOpen();
    const packetId = this.pending.allocate();
    let bytes: Buffer;
    try {
      bytes = encodePublish(
        { ...packet, packetId },
        this.protocolVersion,
        this.serverMaximumPacketSize,
      );
    } catch (err) {
      this.pending.release(packetId);
      this.quota.release();
      throw err;
    }
    const acknowledged = this.pending.addPublish(packetId);
    this.write(bytes, { ...packet, packetId });
    await acknowledged;
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
    try {
      for (const f of list) validateTopicFilter(typeof f === 'string' ? f : f.filter);
    } catch (err) {
      return Promise.reject(err);
    }
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
  unsubscribe(filters: string | readonly string[], o: UnsubscribeOptions = {}): Promise<number[]> {
    const list = typeof filters === 'string' ? [filters] : [...filters];
    try {
      for (const f of list) validateTopicFilter(f);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.request('unsubscribe', (packetId) => ({
      type: 'unsubscribe',
      packetId,
      filters: list,
      properties: o.properties,
    }));
  }

  /**
   * Sends DISCONNECT (MQTT 5: with `reasonCode` and `properties`, such as a new Session
   * Expiry Interval) and closes the connection [MQTT-3.14.4-1]; resolves once closed.
   */
  async end(reasonCode = 0, properties?: Properties): Promise<void> {
    if (this.state === 'closed') return;
    const closed = new Promise<void>((resolve) => this.once('close', () => resolve()));
    if (this.state === 'connected') {
      this.state = 'closing';
      const packet: DisconnectPacket = { type: 'disconnect' };
      if (this.protocolVersion === 5 && (reasonCode !== 0 || properties !== undefined)) {
        packet.reasonCode = reasonCode;
      }
      if (this.protocolVersion === 5 && properties !== undefined) packet.properties = properties;
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
    const packetId = this.pending.allocate();
    const answered = this.pending.addRequest(kind, packetId);
    this.send(build(packetId));
    return answered;
  }

  private assertOpen(): void {
    if (this.state !== 'connected') throw new Error(`client is ${this.state}`);
  }

  private send(packet: Packet): void {
    this.write(encode(packet, this.protocolVersion), packet);
  }

  private write(bytes: Buffer, packet: Packet, done?: (err?: Error | null) => void): void {
    this.trace?.('sending', packet);
    this.socket.write(bytes, done);
    this.keepAlive?.sent();
  }

  /** Writes an encoded packet; resolves once the socket took it. */
  private sendAndFlush(bytes: Buffer, packet: Packet): Promise<void> {
    return new Promise((resolve, reject) =>
      this.write(bytes, packet, (err) => (err ? reject(err) : resolve())),
    );
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
        this.settlePublish(p);
        break;
      case 'pubrec':
        if (isFailure(p.reasonCode)) this.settlePublish(p);
        // [MQTT-4.3.3-1] the sender answers PUBREC with PUBREL.
        else this.send({ type: 'pubrel', packetId: p.packetId });
        break;
      case 'suback':
      case 'unsuback':
        this.pending.settleRequest(
          p.packetId,
          p.type === 'suback' ? 'subscribe' : 'unsubscribe',
          p.reasonCodes,
        );
        break;
      case 'pingresp':
        this.keepAlive?.pong();
        break;
      case 'disconnect':
        this.closeError ??= new ServerDisconnectError(
          p.reasonCode ?? 0,
          p.properties?.reasonString,
        );
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
      const reasonString = p.properties?.reasonString;
      this.destroy(new ConnectRefusedError(p.reasonCode, this.protocolVersion, reasonString));
      return;
    }
    this.connack = p;
    this.state = 'connected';
    const props = p.properties;
    if (props?.assignedClientIdentifier) this.clientId = props.assignedClientIdentifier;
    this.quota.reset(Math.min(this.maxInflight, props?.receiveMaximum ?? 65535));
    // [MQTT-3.2.2-21] a Server Keep Alive replaces the client's own value.
    const seconds = props?.serverKeepAlive ?? this.connectPacket.keepAlive;
    this.keepAlive = new KeepAlive(
      seconds * 1000,
      () => this.send({ type: 'pingreq' }),
      () => this.destroy(new Error('keepalive timeout: no PINGRESP')),
    );
    this.keepAlive.start();
    this.emit('connack', p);
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

  private settlePublish(ack: PubackPacket | PubrecPacket | PubcompPacket): void {
    const code = ack.reasonCode ?? 0;
    const why = isFailure(code)
      ? describeWithReasonString(code, ack.properties?.reasonString)
      : undefined;
    const failure = why
      ? new MqttError(code, `publish refused (${ack.type.toUpperCase()}): ${why}`)
      : undefined;
    if (this.pending.settlePublish(ack.packetId, failure)) this.quota.release();
  }

  private onSocketClose(): void {
    const wasClosing = this.state === 'closing';
    this.state = 'closed';
    this.keepAlive?.stop();
    const err = this.closeError ?? (wasClosing ? undefined : new Error('connection closed'));
    const failure = err ?? new Error('connection closed');
    this.pending.rejectAll(failure);
    // Publishes waiting for quota wake up and fail on the closed state.
    this.quota.wakeAll();
    this.handshake?.reject(failure);
    this.handshake = undefined;
    if (err && this.listenerCount('error') > 0) this.emit('error', err);
    this.emit('close', err);
  }
}
