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
import { HandshakeWait } from './handshake-wait.js';
import { InboundPublishes } from './inbound-publishes.js';
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
  private readonly inbound: InboundPublishes;
  private readonly maxInflight: number;
  private readonly quota: SendQuota;
  private readonly trace: ConnectionSettings['trace'];
  /** Protocol level of the connection (3 = MQTT 3.1, 4 = 3.1.1, 5 = 5.0). */
  readonly protocolVersion: ProtocolVersion;
  private keepAlive: KeepAlive | undefined;
  private closeError: Error | undefined;
  private handshake: HandshakeWait | undefined;

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
    this.inbound = new InboundPublishes(
      (packet) => this.send(packet),
      (p) => this.emit('message', p.topic, p.payload, p),
      settings.deferAcks === true,
    );
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
    socket.on('error', (err) => void (this.closeError ??= err));
    socket.on('close', () => this.onSocketClose());
    socket.on('drain', () => this.emit('drain'));
  }

  /** True between a successful CONNACK and the start of closing. */
  get connected(): boolean {
    return this.state === 'connected';
  }

  /** Sends CONNECT and resolves on a successful CONNACK (rejects with MqttError otherwise). */
  start(timeoutMs: number): Promise<void> {
    this.handshake = new HandshakeWait(timeoutMs, () =>
      this.destroy(new Error(`no CONNACK within ${timeoutMs} ms`)),
    );
    this.send(this.connectPacket);
    return this.handshake.promise;
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

  /**
   * Writes a packet as it is, or its `bytes` when encoded already (a bridge's PUBLISH under its
   * own packet id: acks come as 'ack' events). False when the socket holds more than its
   * high-water mark ('drain' follows).
   */
  sendPacket(packet: Packet, bytes = encode(packet, this.protocolVersion)): boolean {
    this.trace?.('sending', packet);
    this.keepAlive?.sent();
    return this.socket.write(bytes);
  }

  /** With `deferAcks`: sends the PUBACK (QoS 1) or PUBREC (QoS 2) of a received message. */
  acknowledge(packet: PublishPacket): void {
    if (this.state === 'connected') this.inbound.acknowledge(packet);
  }

  /**
   * Stops reading from the server (TCP then pushes back on it) until `resumeReading()`; a
   * bridge does so when its remote sends faster than its `maxIncomingRate`.
   */
  pauseReading(): void {
    this.socket.pause();
  }

  /** Reads from the server again after `pauseReading()`. */
  resumeReading(): void {
    this.socket.resume();
  }

  /** Bytes written and not yet taken by the kernel. */
  get writableLength(): number {
    return this.socket.writableLength;
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
        this.inbound.received(p);
        break;
      case 'pubrel':
        this.inbound.released(p.packetId);
        break;
      case 'puback':
      case 'pubrec':
      case 'pubcomp':
        // The acknowledgement of a PUBLISH written with sendPacket goes to its 'ack' listener.
        if (this.listenerCount('ack') > 0 && !this.pending.waitsForPublish(p.packetId)) {
          this.emit('ack', p);
        } else if (p.type !== 'pubrec' || isFailure(p.reasonCode)) this.settlePublish(p);
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
