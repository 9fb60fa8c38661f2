/**
 * Inbound PUBLISH: the protocol checks, topic aliases, the rate limit, then the message
 * pipeline (message-pipeline.ts), and the PUBACK or PUBREC once what routing stored is
 * durable (commit-order.ts).
 */
import type { PublishPacket } from '../protocol/index.js';
import { isWellFormedUtf8, MqttError, ReasonCode } from '../protocol/index.js';
import type { ClientContext } from './handler-context.js';
import { refuseTopic } from './limits.js';
import type { Message } from './message.js';
import { createMessage } from './message.js';
import type { PublishOutcome } from './message-pipeline.js';
import { ABANDONED, DROPPED_BY_HOOK, NOT_AUTHORIZED } from './message-pipeline.js';
import { checkPublishRate, delay } from './rate-limit.js';

/** Handles a PUBLISH from the client: checks, authorization, routing, acknowledgement. */
export function handlePublish(conn: ClientContext, packet: PublishPacket): void | Promise<void> {
  const core = conn.core;
  const topic = checkPublish(conn, packet);
  const session = conn.session!;
  if (packet.qos === 2 && session.inboundQos2.has(packet.packetId!)) {
    // [MQTT-4.3.3-9] a resent QoS 2 PUBLISH is acknowledged again but not routed again. The
    // PUBREC stands for what the first one does: while the first still waits (the store's
    // commit of its writes, what a subscriber holding it in memory asked: ack-waits.ts; the
    // client reconnected at once), this one waits for the same and fails with it, after the
    // acknowledgements before it on this connection.
    const packetId = packet.packetId!;
    const first = session.inboundQos2Wait(packetId);
    conn.sendAck({ type: 'pubrec', packetId }, storeMark(conn), undefined, first);
    return;
  }
  // Receive Maximum is an MQTT 5 limit; a 3.x client may pipeline QoS 2 freely (its 65535
  // packet ids bound the unreleased set).
  if (packet.qos > 0 && conn.version === 5) {
    const unacknowledged = session.inboundQos2.size + conn.inboundQos1Pending;
    if (unacknowledged >= core.options.receiveMaximum) {
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
      core.recordDrop(conn.client.clientId, messageOf(conn, packet, topic), 'rate-limited');
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

/**
 * The checks of a PUBLISH that fail the connection: QoS and retain as the server announced
 * them, no subscription identifier, a topic (or topic alias) within the limits. Returns the
 * topic.
 */
function checkPublish(conn: ClientContext, packet: PublishPacket): string {
  const core = conn.core;
  const options = core.options;
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
  const tooBig = refuseTopic(core.refusals, options, topic, {
    clientId: conn.client.clientId,
    what: 'publish',
  });
  if (tooBig !== undefined) {
    // A topic past the configured size is refused like an invalid one: v5 DISCONNECT 0x90,
    // v3 close [MQTT-4.13.1-1].
    throw new MqttError(ReasonCode.TopicNameInvalid, `topic name ${tooBig}`);
  }
  return topic;
}

/** The message a PUBLISH from `conn` carries. */
function messageOf(conn: ClientContext, packet: PublishPacket, topic: string): Message {
  const core = conn.core;
  return createMessage(
    core.messageIds.take(),
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
    packet.properties?.messageExpiryInterval === undefined ? 0 : core.clock.now(),
  );
}

/** A PUBLISH that passed the protocol checks and the rate limit: payload format, routing. */
function acceptPublish(
  conn: ClientContext,
  packet: PublishPacket,
  topic: string,
): void | Promise<void> {
  const core = conn.core;
  const props = packet.properties;
  if (props?.payloadFormatIndicator === 1 && !isWellFormedUtf8(packet.payload)) {
    // MQTT 5 section 3.3.2.3.2: payload declared UTF-8 but is not: 0x99 Payload format invalid.
    if (packet.qos === 0)
      throw new MqttError(ReasonCode.PayloadFormatInvalid, 'payload is not valid UTF-8');
    acknowledge(conn, packet, ReasonCode.PayloadFormatInvalid, storeMark(conn));
    return;
  }
  if (packet.qos > 0 && core.persistence?.full) {
    // The disk is full: QoS 1/2 cannot be made durable, so it is refused (0x97) while QoS 0
    // and everything else keeps working.
    if (conn.version !== 5) {
      throw new MqttError(ReasonCode.QuotaExceeded, 'store full: QoS 1/2 publish refused');
    }
    acknowledge(conn, packet, ReasonCode.QuotaExceeded, storeMark(conn));
    return;
  }
  core.metrics.messagesReceived++;
  core.metrics.messagesReceivedByQos[packet.qos]++;
  core.metrics.publishBytesReceived += packet.payload.length;
  // Taken before routing: if the ack must wait for an async hook, a mark this early only
  // makes it wait for one more commit (what others wrote meanwhile), never for one less.
  const mark = storeMark(conn);
  const message = messageOf(conn, packet, topic);
  const outcome = core.pipeline.fromClient(message, conn.client, props, conn);
  if (typeof outcome === 'number') {
    acknowledgeOutcome(conn, packet, outcome, mark, message);
    return;
  }
  return whilePending(
    conn,
    packet,
    outcome.then((settled) => acknowledgeOutcome(conn, packet, settled, mark, message)),
  );
}

/** Acknowledges what the pipeline made of the message (nothing once the client left). */
function acknowledgeOutcome(
  conn: ClientContext,
  packet: PublishPacket,
  outcome: PublishOutcome,
  mark: number,
  message: Message,
): void {
  // What a subscriber holding the message in memory only asked the acknowledgement to wait
  // for (a cluster's stand-in for a session moving in: ack-waits.ts); taken even when the
  // client left, so that nothing stays behind.
  const wait = outcome >= 0 ? conn.core.pipeline.ackWaits.take(message) : undefined;
  switch (outcome) {
    case ABANDONED:
      return;
    case NOT_AUTHORIZED:
      // [MQTT-3.3.5-2] a 3.x client gets a normal acknowledgement; MQTT 5 gets 0x87.
      acknowledge(conn, packet, ReasonCode.NotAuthorized, mark);
      return;
    case DROPPED_BY_HOOK:
      acknowledge(conn, packet, ReasonCode.Success, mark);
      return;
    default:
      acknowledge(
        conn,
        packet,
        outcome > 0 ? ReasonCode.Success : ReasonCode.NoMatchingSubscribers,
        mark,
        wait,
      );
  }
}

/** Counts a QoS 1 publish as unacknowledged (Receive Maximum) while a hook works on it. */
async function whilePending(
  conn: ClientContext,
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

/**
 * Sends PUBACK (QoS 1) or PUBREC (QoS 2, remembering the id until PUBREL), once what routing
 * stored is durable and `wait` (ack-waits.ts) settled.
 */
function acknowledge(
  conn: ClientContext,
  packet: PublishPacket,
  reasonCode: number,
  mutationsBefore: number,
  wait?: Promise<void>,
): void {
  const packetId = packet.packetId!;
  const code = conn.version === 5 ? reasonCode : undefined;
  if (packet.qos === 1) {
    // [MQTT-4.3.2-2], sent once what routing stored is durable. A 3.x PUBACK has no reason
    // code ([MQTT-3.3.5-2]: a refused one is acknowledged as usual).
    if (code === undefined || code === ReasonCode.Success) {
      conn.sendSuccessPuback(packetId, mutationsBefore, wait);
    } else {
      conn.sendAck(
        { type: 'puback', packetId, reasonCode: code },
        mutationsBefore,
        undefined,
        wait,
      );
    }
  } else if (packet.qos === 2) {
    // [MQTT-4.3.3-9] remember the id so a resend is not routed twice; failures are not stored.
    if (reasonCode >= 0x80) {
      conn.sendAck(
        { type: 'pubrec', packetId, reasonCode: code },
        mutationsBefore,
        undefined,
        wait,
      );
      return;
    }
    const session = conn.session!;
    session.addInboundQos2(packetId);
    const pubrec = { type: 'pubrec', packetId, reasonCode: code } as const;
    const pending = conn.sendAck(pubrec, mutationsBefore, undefined, wait);
    // A resend before this PUBREC went out waits for the same (above, handlePublish).
    if (pending !== undefined) session.awaitInboundQos2(packetId, pending);
  }
}

/** Mutation count of the store now (0 without a store). */
function storeMark(conn: ClientContext): number {
  return conn.core.persistence?.mutations ?? 0;
}

/** MQTT 5 topic aliases from the client [MQTT-3.3.2-8] [MQTT-3.3.2-9] [MQTT-3.3.2-12]. */
function resolveTopicAlias(conn: ClientContext, packet: PublishPacket): string {
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
  if (alias === 0 || alias > conn.core.options.topicAliasMaximum) {
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
