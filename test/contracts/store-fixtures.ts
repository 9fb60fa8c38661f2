/** Sample records for the store contract suite. */
import type {
  StoredDelivery,
  StoredMessage,
  StoredSession,
  StoredSessionRecord,
  StoredSubscription,
  StoredWill,
} from '../../src/ports/index.js';

/** A message with every optional field set, including properties that hold Buffers and pairs. */
export function richMessage(id: number, topic = `t/${id}`): StoredMessage {
  return {
    id,
    topic,
    payload: Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
    qos: 2,
    retain: true,
    properties: {
      payloadFormatIndicator: 1,
      contentType: 'application/json; charset=utf-8',
      responseTopic: 'reply/ü/👋',
      correlationData: Buffer.from([0, 1, 2, 255]),
      userProperties: [
        ['k', 'v1'],
        ['k', 'v2'],
        ['', ''],
        ['ключ', 'значение'],
      ],
    },
    expiresAt: 1_900_000_000_123,
    origin: 'publisher-1',
    publisher: { listener: 'tls', username: 'alice' },
  };
}

/** A message with only the required fields. */
export function plainMessage(id: number, payload = `m${id}`, topic = `t/${id}`): StoredMessage {
  return { id, topic, payload: Buffer.from(payload), qos: 1, retain: false };
}

/** A delivery of a message. */
export function delivery(messageId: number, extra: Partial<StoredDelivery> = {}): StoredDelivery {
  return { messageId, qos: 1, retain: false, ...extra };
}

/** A subscription with defaults. */
export function subscription(
  filter: string,
  extra: Partial<StoredSubscription> = {},
): StoredSubscription {
  return { filter, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0, ...extra };
}

/** A will with properties. */
export function richWill(): StoredWill {
  return {
    will: {
      topic: 'status/dev-1',
      payload: Buffer.from('offline'),
      qos: 1,
      retain: true,
      properties: {
        willDelayInterval: 30,
        messageExpiryInterval: 3600,
        contentType: 'text/plain',
        correlationData: Buffer.from('corr'),
        userProperties: [['why', 'gone']],
      },
    },
    username: 'alice',
    listener: 'tls',
    dueAt: 1_800_000_000_000,
  };
}

/** A session as load() returns it, empty unless overridden. */
export function emptySession(clientId: string, extra: Partial<StoredSession> = {}): StoredSession {
  return {
    clientId,
    expiryInterval: 3600,
    subscriptions: [],
    inflight: [],
    inboundQos2: [],
    queuedCount: 0,
    queuedBytes: 0,
    lastSeq: 0,
    ...extra,
  };
}

/** Sessions sorted by client id, with their unordered parts sorted, for comparison. */
export function canonical<S extends StoredSessionRecord>(sessions: S[]): S[] {
  return [...sessions]
    .sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0))
    .map((s) => ({
      ...s,
      subscriptions: [...s.subscriptions].sort((a, b) =>
        a.filter < b.filter ? -1 : a.filter > b.filter ? 1 : 0,
      ),
      inboundQos2: [...s.inboundQos2].sort((a, b) => a - b),
    }));
}
