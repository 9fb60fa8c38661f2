/**
 * SUBSCRIBE and UNSUBSCRIBE: authorization, granted QoS, retained messages on subscribe
 * (Retain Handling), and the reason codes of SUBACK and UNSUBACK.
 */
import type {
  QoS,
  SubscribePacket,
  SubscriptionRequest,
  UnsubscribePacket,
} from '../protocol/index.js';
import { MqttError, ReasonCode, SUBACK_FAILURE_V3 } from '../protocol/index.js';
import { parseSharedFilter } from '../topic/index.js';
import type { ClientInfo } from './client-info.js';
import type { ClientContext } from './handler-context.js';
import { refuseTopic } from './limits.js';
import { sendRetained } from './retained-delivery.js';
import type { Subscription } from './subscription.js';

/** Handles SUBSCRIBE; async only when an authorizeSubscribe hook is installed. */
export function handleSubscribe(
  conn: ClientContext,
  packet: SubscribePacket,
): void | Promise<void> {
  const subscriptionId = packet.properties?.subscriptionIdentifiers?.[0];
  for (const request of packet.subscriptions) {
    if (request.noLocal && parseSharedFilter(request.filter)) {
      // [MQTT-3.8.3-4] No Local on a shared subscription is a protocol error.
      throw new MqttError(
        ReasonCode.ProtocolError,
        'no local on a shared subscription',
        'MQTT-3.8.3-4',
      );
    }
  }
  const refused = refuseFilters(conn, packet);
  if (conn.core.hooks.hasAuthorizeSubscribe)
    return subscribeWithHooks(conn, packet, subscriptionId, refused);
  const granted = packet.subscriptions.map((request) => request.qos);
  finishSubscribe(conn, packet, granted, subscriptionId, refused);
}

/**
 * Filters past `maxTopicLength` / `maxTopicLevels` (true at their index): answered 0x8F
 * Topic Filter invalid (v3 0x80) without reaching the hooks or the subscription tree.
 */
function refuseFilters(conn: ClientContext, packet: SubscribePacket): boolean[] | undefined {
  let refused: boolean[] | undefined;
  packet.subscriptions.forEach((request, i) => {
    const why = refuseTopic(conn.core.refusals, conn.core.options, request.filter, {
      clientId: conn.client.clientId,
      what: 'subscribe',
    });
    if (why === undefined) return;
    refused ??= [];
    refused[i] = true;
  });
  return refused;
}

async function subscribeWithHooks(
  conn: ClientContext,
  packet: SubscribePacket,
  subscriptionId: number | undefined,
  refused: boolean[] | undefined,
): Promise<void> {
  const granted: (QoS | undefined)[] = [];
  for (const [i, request] of packet.subscriptions.entries()) {
    granted.push(
      refused?.[i] ? undefined : await conn.core.hooks.authorizeSubscribe(conn.client, request),
    );
  }
  if (conn.state !== 'connected') return;
  finishSubscribe(conn, packet, granted, subscriptionId, refused);
}

function finishSubscribe(
  conn: ClientContext,
  packet: SubscribePacket,
  allowed: (QoS | undefined)[],
  subscriptionId: number | undefined,
  refused: boolean[] | undefined,
): void {
  const core = conn.core;
  const session = conn.session!;
  const mark = core.persistence?.mutations ?? 0;
  const reasonCodes: number[] = [];
  const retainedToSend: { subscription: Subscription; isNew: boolean }[] = [];
  packet.subscriptions.forEach((request, i) => {
    if (refused?.[i]) {
      reasonCodes.push(conn.version === 5 ? ReasonCode.TopicFilterInvalid : SUBACK_FAILURE_V3);
      return;
    }
    const ceiling = allowed[i];
    if (ceiling === undefined) {
      core.refusals.note('subscribe-denied', deniedSubscribeFields, 'subscribe denied', {
        client: conn.client,
        filter: request.filter,
      });
      reasonCodes.push(conn.version === 5 ? ReasonCode.NotAuthorized : SUBACK_FAILURE_V3);
      return;
    }
    const isNewFilter = !session.subscriptions.has(request.filter);
    if (
      isNewFilter &&
      (session.subscriptions.size >= core.options.maxSubscriptionsPerClient ||
        // The memory budget (charged here when admitted); a persistent session's
        // subscriptions outlive the connection and get the budget's durable share.
        !core.budget.admitSubscription(
          conn.client.clientId,
          request.filter,
          session.expiryInterval > 0,
        ))
    ) {
      reasonCodes.push(conn.version === 5 ? ReasonCode.QuotaExceeded : SUBACK_FAILURE_V3);
      return;
    }
    const qos = Math.min(ceiling, core.options.maximumQoS) as QoS; // [MQTT-3.8.4-6]
    const subscription = makeSubscription(conn, request, qos, subscriptionId);
    // [MQTT-3.8.4-3] a subscription with the same filter replaces the existing one.
    const isNew = core.subscriptions.add(session, subscription);
    reasonCodes.push(qos); // [MQTT-3.9.3-2] granted QoS as the reason code
    retainedToSend.push({ subscription, isNew });
  });
  // [MQTT-3.8.4-1] SUBACK with the same packet id, one code per filter [MQTT-3.8.4-5],
  // once a persistent session's new subscriptions are durable; retained messages follow it.
  conn.sendAck({ type: 'suback', packetId: packet.packetId, reasonCodes }, mark, () => {
    for (const { subscription, isNew } of retainedToSend) {
      sendRetained(core, session, subscription, isNew);
    }
  });
  core.hooks.notify('onSubscribed', conn.client, packet.subscriptions, reasonCodes);
}

/** The log fields of a denied filter (built only when the line is logged). */
function deniedSubscribeFields(denied: {
  client: ClientInfo;
  filter: string;
}): Record<string, unknown> {
  const { client, filter } = denied;
  return {
    clientId: client.clientId,
    username: client.username,
    address: client.remoteAddress,
    filter,
    reason: 'not authorized',
  };
}

function makeSubscription(
  conn: ClientContext,
  request: SubscriptionRequest,
  qos: QoS,
  subscriptionId: number | undefined,
): Subscription {
  const shared = parseSharedFilter(request.filter);
  return {
    subscriber: conn.session!,
    filter: request.filter,
    qos,
    noLocal: conn.version === 5 ? request.noLocal : false,
    retainAsPublished: conn.version === 5 ? request.retainAsPublished : false,
    retainHandling: conn.version === 5 ? request.retainHandling : 0,
    subscriptionId,
    shareGroup: shared?.group,
  };
}

/** Handles UNSUBSCRIBE: 0x00 for each removed filter, 0x11 when there was none [MQTT-3.11.3-2]. */
export function handleUnsubscribe(conn: ClientContext, packet: UnsubscribePacket): void {
  const core = conn.core;
  const session = conn.session!;
  const mark = core.persistence?.mutations ?? 0;
  const reasonCodes = packet.filters.map((filter) =>
    core.subscriptions.remove(session, filter)
      ? ReasonCode.Success
      : ReasonCode.NoSubscriptionExisted,
  );
  // [MQTT-3.10.4-4] UNSUBACK even when nothing was removed; 3.x carries no codes.
  conn.sendAck(
    {
      type: 'unsuback',
      packetId: packet.packetId,
      reasonCodes: conn.version === 5 ? reasonCodes : [],
    },
    mark,
  );
  core.hooks.notify('onUnsubscribed', conn.client, packet.filters);
}
