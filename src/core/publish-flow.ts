/**
 * Inbound PUBLISH and the acknowledgement packets of both directions.
 */
import { isUtf8 } from 'node:buffer';
import type {
  PubackPacket,
  PubcompPacket,
  PublishPacket,
  PubrecPacket,
  PubrelPacket,
} from '../protocol/index.js';
import { MqttError, ReasonCode } from '../protocol/index.js';
import type { Connection } from './connection.js';
import { refuseTopic } from './limits.js';
import type { Message } from './message.js';
import { createMessage } from './message.js';
import { checkPublishRate, delay } from './rate-limit.js';

/** Handles a PUBLISH from the client: checks, authorization, routing, acknowledgement. */
export function handlePublish(conn: Connection, packet: PublishPacket): void | Promise<void> {
  const broker = conn.broker;
  const options = broker.options;
  const session = conn.session!;
  if (packet.qos > options.maximumQoS) {
    throw new MqttError(
      ReasonCode.QoSNotSupported,
      `QoS ${packet.qos} not supported`,
      'MQTT-3.2.2-11',
    );
  }
  if (packet.retain && !options.retainAvailable) {
    throw new MqttError(ReasonCode.RetainNotSupported, 'retain not supported', 'MQTT-3.2.2-14');
  }
  if (packet.properties?.subscriptionIdentifiers !== undefined) {
    throw new MqttError(
      ReasonCode.ProtocolError,
      'subscription identifier in a PUBLISH from a client',
      'MQTT-3.3.4-6',
    );
  }
  const topic = resolveTopicAlias(conn, packet);
  const tooBig = refuseTopic(broker.refusals, options, topic, {
    clientId: conn.client.clientId,
    what: 'publish',
  });
  if (tooBig !== undefined) {
    // A topic past the configured size is refused like an invalid one: v5 DISCONNECT 0x90,
    // v3 close [MQTT-4.13.1-1].
    throw new MqttError(ReasonCode.TopicNameInvalid, `topic name ${tooBig}`);
  }
  if (packet.qos === 2 && session.inboundQos2.has(packet.packetId!)) {
    // [MQTT-4.3.3-9] a resent QoS 2 PUBLISH is acknowledged again but not routed again.
    conn.send({ type: 'pubrec', packetId: packet.packetId! });
    return;
  }
  // Receive Maximum is an MQTT 5 limit; a 3.x client may pipeline QoS 2 freely (its 65535
  // packet ids bound the unreleased set).
  if (packet.qos > 0 && conn.version === 5) {
    const unacknowledged = session.inboundQos2.size + conn.inboundQos1Pending;
    if (unacknowledged >= options.receiveMaximum) {
      // [MQTT-3.3.4-7] more unacknowledged QoS>0 PUBLISH than our Receive Maximum.
      throw new MqttError(
        ReasonCode.ReceiveMaximumExceeded,
        'receive maximum exceeded',
        'MQTT-3.3.4-7',
      );
    }
  }
  const verdict = checkPublishRate(conn, packet);
  switch (verdict.kind) {
    case 'pass':
      return acceptPublish(conn, packet, topic);
    case 'drop':
      broker.recordDrop(conn.client.clientId, messageOf(conn, packet, topic), 'rate-limited');
      return;
    case 'refuse':
      // MQTT 5: PUBACK/PUBREC 0x97 Quota exceeded, not routed. 0x96 Message rate too high is
      // a DISCONNECT code only: PUBACK/PUBREC may not carry it (spec tables 3.4.2.1, 3.5.2.1).
      acknowledge(conn, packet, ReasonCode.QuotaExceeded, storeMark(conn));
      return;
    case 'delay':
      // MQTT 3.x QoS 1/2: the connection waits (reading paused) until the token is due.
      return delay(conn, verdict.ms).then(() =>
        conn.closed ? undefined : acceptPublish(conn, packet, topic),
      );
  }
}

/** The message a PUBLISH from `conn` carries. */
function messageOf(conn: Connection, packet: PublishPacket, topic: string): Message {
  return createMessage(
    {
      topic,
      payload: packet.payload,
      qos: packet.qos,
      retain: packet.retain,
      properties: packet.properties,
      origin: conn.client.clientId,
      publisher: conn.client,
    },
    // The time matters only for a Message Expiry Interval (clock reads cost in the profile).
    packet.properties?.messageExpiryInterval === undefined ? 0 : conn.broker.clock.now(),
  );
}

/** A PUBLISH that passed the protocol checks and the rate limit: payload format, routing. */
function acceptPublish(
  conn: Connection,
  packet: PublishPacket,
  topic: string,
): void | Promise<void> {
  const broker = conn.broker;
  const props = packet.properties;
  if (props?.payloadFormatIndicator === 1 && !isUtf8(packet.payload)) {
    // MQTT 5 section 3.3.2.3.2: payload declared UTF-8 but is not: 0x99 Payload format invalid.
    if (packet.qos === 0)
      throw new MqttError(ReasonCode.PayloadFormatInvalid, 'payload is not valid UTF-8');
    acknowledge(conn, packet, ReasonCode.PayloadFormatInvalid, storeMark(conn));
    return;
  }
  if (packet.qos > 0 && broker.persistence?.full) {
    // The disk is full: QoS 1/2 cannot be made durable, so it is refused (0x97) while QoS 0
    // and everything else keeps working.
    if (conn.version !== 5) {
      throw new MqttError(ReasonCode.QuotaExceeded, 'store full: QoS 1/2 publish refused');
    }
    acknowledge(conn, packet, ReasonCode.QuotaExceeded, storeMark(conn));
    return;
  }
  broker.metrics.messagesReceived++;
  const mark = storeMark(conn);
  const message = messageOf(conn, packet, topic);
  if (broker.hooks.hasAuthorizePublish || broker.hooks.hasPublishTransform) {
    return publishWithHooks(conn, packet, message);
  }
  const matched = broker.publish(message, conn.client);
  acknowledge(
    conn,
    packet,
    matched > 0 ? ReasonCode.Success : ReasonCode.NoMatchingSubscribers,
    mark,
  );
}

/**
 * The publish path when authorization or transform hooks are installed. It stays
 * synchronous while the hooks answer synchronously; only a hook that returns a promise
 * makes the connection wait (and pause reading) for it.
 */
function publishWithHooks(
  conn: Connection,
  packet: PublishPacket,
  message: Message,
): void | Promise<void> {
  const allowed = conn.broker.hooks.authorizePublish(conn.client, {
    topic: message.topic,
    payload: message.payload,
    qos: message.qos,
    retain: message.retain,
    properties: packet.properties,
  });
  if (typeof allowed === 'boolean') return afterAuthorization(conn, packet, message, allowed);
  return whilePending(
    conn,
    packet,
    allowed.then((settled) =>
      conn.closed ? undefined : afterAuthorization(conn, packet, message, settled),
    ),
  );
}

function afterAuthorization(
  conn: Connection,
  packet: PublishPacket,
  message: Message,
  allowed: boolean,
): void | Promise<void> {
  const broker = conn.broker;
  if (!allowed) {
    broker.logger.info(
      { clientId: conn.client.clientId, topic: message.topic },
      'publish not authorized',
    );
    // [MQTT-3.3.5-2] a 3.x client gets a normal acknowledgement; MQTT 5 gets 0x87.
    acknowledge(conn, packet, ReasonCode.NotAuthorized, storeMark(conn));
    return;
  }
  const transformed = broker.hooks.hasPublishTransform
    ? broker.hooks.transformPublish(conn.client, message)
    : message;
  if (
    transformed === null ||
    typeof (transformed as Partial<Promise<unknown>>).then !== 'function'
  ) {
    finishPublish(conn, packet, message, transformed as Message | null);
    return;
  }
  return whilePending(
    conn,
    packet,
    (transformed as Promise<Message | null>).then((settled) => {
      if (!conn.closed) finishPublish(conn, packet, message, settled);
    }),
  );
}

function finishPublish(
  conn: Connection,
  packet: PublishPacket,
  original: Message,
  message: Message | null,
): void {
  const broker = conn.broker;
  if (message === null) {
    broker.recordDrop(conn.client.clientId, original, 'hook');
    acknowledge(conn, packet, ReasonCode.Success, storeMark(conn));
    return;
  }
  const mark = storeMark(conn);
  const matched = broker.publish(message, conn.client);
  const code = matched > 0 ? ReasonCode.Success : ReasonCode.NoMatchingSubscribers;
  acknowledge(conn, packet, code, mark);
}

/** Counts a QoS 1 publish as unacknowledged (Receive Maximum) while a hook works on it. */
async function whilePending(
  conn: Connection,
  packet: PublishPacket,
  work: Promise<void>,
): Promise<void> {
  if (packet.qos === 1) conn.inboundQos1Pending++;
  try {
    await work;
  } finally {
    if (packet.qos === 1) conn.inboundQos1Pending--;
  }
}

/** Sends PUBACK (QoS 1) or PUBREC (QoS 2, remembering the id until PUBREL). */
function acknowledge(
  conn: Connection,
  packet: PublishPacket,
  reasonCode: number,
  mutationsBefore: number,
): void {
  const packetId = packet.packetId!;
  const code = conn.version === 5 ? reasonCode : undefined;
  if (packet.qos === 1) {
    // [MQTT-4.3.2-2], sent once what routing stored is durable.
    conn.sendAck({ type: 'puback', packetId, reasonCode: code }, mutationsBefore);
  } else if (packet.qos === 2) {
    // [MQTT-4.3.3-9] remember the id so a resend is not routed twice; failures are not stored.
    if (reasonCode < 0x80) conn.session!.addInboundQos2(packetId);
    conn.sendAck({ type: 'pubrec', packetId, reasonCode: code }, mutationsBefore);
  }
}

/** Mutation count of the store now (0 without a store). */
function storeMark(conn: Connection): number {
  return conn.broker.persistence?.mutations ?? 0;
}

/** MQTT 5 topic aliases from the client [MQTT-3.3.2-8] [MQTT-3.3.2-9] [MQTT-3.3.2-12]. */
function resolveTopicAlias(conn: Connection, packet: PublishPacket): string {
  const alias = packet.properties?.topicAlias;
  if (alias === undefined) {
    if (packet.topic === '') {
      throw new MqttError(
        ReasonCode.ProtocolError,
        'empty topic without topic alias (MQTT 5 section 3.3.2.1)',
      );
    }
    return packet.topic;
  }
  if (alias === 0 || alias > conn.broker.options.topicAliasMaximum) {
    throw new MqttError(
      ReasonCode.TopicAliasInvalid,
      `topic alias ${alias} out of range`,
      alias === 0 ? 'MQTT-3.3.2-8' : 'MQTT-3.3.2-9',
    );
  }
  if (packet.topic !== '') {
    conn.topicAliasesIn.set(alias, packet.topic);
    return packet.topic;
  }
  const topic = conn.topicAliasesIn.get(alias);
  if (topic === undefined) {
    // MQTT 5 section 3.3.2.3.4: an alias with no mapping on this connection is a protocol error.
    throw new MqttError(ReasonCode.ProtocolError, `unknown topic alias ${alias}`);
  }
  return topic;
}

/** PUBREL: release the QoS 2 id and answer PUBCOMP [MQTT-4.3.3-11]. */
export function handlePubrel(conn: Connection, packet: PubrelPacket): void {
  const mark = storeMark(conn);
  const known = conn.session!.releaseInboundQos2(packet.packetId);
  const reasonCode = known || conn.version !== 5 ? undefined : ReasonCode.PacketIdentifierNotFound;
  // The released id must be durable first, or a restart would take a reused id for a resend.
  conn.sendAck({ type: 'pubcomp', packetId: packet.packetId, reasonCode }, mark);
}

/** PUBACK from the client ends a QoS 1 delivery. */
export function handlePuback(conn: Connection, packet: PubackPacket): void {
  if (conn.session!.complete(packet.packetId, 'publish')) return;
  refuseAckInAnotherState(conn, 'PUBACK', packet.packetId);
}

/** PUBREC from the client: answer PUBREL (or 0x92 for an unknown id). */
export function handlePubrec(conn: Connection, packet: PubrecPacket): void {
  const refused = (packet.reasonCode ?? 0) >= 0x80;
  if (conn.session!.received(packet.packetId, refused)) return;
  refuseAckInAnotherState(conn, 'PUBREC', packet.packetId);
  if (!refused) {
    // MQTT 5 section 4.3.3: a PUBREC for an id not in flight gets PUBREL 0x92.
    const reasonCode = conn.version === 5 ? ReasonCode.PacketIdentifierNotFound : undefined;
    conn.send({ type: 'pubrel', packetId: packet.packetId, reasonCode });
  }
}

/** PUBCOMP from the client ends a QoS 2 delivery. */
export function handlePubcomp(conn: Connection, packet: PubcompPacket): void {
  if (conn.session!.complete(packet.packetId, 'pubrel')) return;
  refuseAckInAnotherState(conn, 'PUBCOMP', packet.packetId);
}

/**
 * An acknowledgement the session could not use. For an id with nothing in flight (a late
 * duplicate, a session that ended) it is logged and ignored. For an id that is in flight in
 * another state (a PUBACK or PUBCOMP for a QoS 2 message still waiting for PUBREC, a PUBACK
 * or PUBREC for a QoS 1 message, a PUBCOMP before the PUBREL) the client breaks the QoS
 * flow: a protocol violation, answered with v5 DISCONNECT 0x82 [MQTT-4.13.1-1] or a v3
 * close [MQTT-4.8.0-1]. Answering or ignoring it would leave the message in flight forever.
 */
function refuseAckInAnotherState(
  conn: Connection,
  what: 'PUBACK' | 'PUBREC' | 'PUBCOMP',
  packetId: number,
): void {
  const entry = conn.session!.inflight.get(packetId);
  if (entry === undefined) {
    conn.broker.logger.debug(
      { clientId: conn.client.clientId, packetId },
      `${what} for unknown id`,
    );
    return;
  }
  const awaited =
    entry.state === 'pubrel' ? 'PUBCOMP' : entry.delivery.qos === 1 ? 'PUBACK' : 'PUBREC';
  throw new MqttError(
    ReasonCode.ProtocolError,
    `${what} for packet id ${packetId}, a QoS ${entry.delivery.qos} message awaiting ${awaited}`,
    conn.version === 5 ? 'MQTT-4.13.1-1' : 'MQTT-4.8.0-1',
  );
}
