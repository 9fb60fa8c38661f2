/**
 * The JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of what the admin API returns and
 * takes: the OpenAPI document's `components.schemas`. They describe the plain objects of
 * `broker.admin` (src/admin/types.ts) field by field; the tests check every answer against
 * them, so a field added to a result without its schema fails a test.
 */

/** A JSON Schema, as far as this document uses it. */
export interface JsonSchema {
  type?: string | string[];
  $ref?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  prefixItems?: JsonSchema[];
  minItems?: number;
  maxItems?: number;
  enum?: (string | number | boolean | null)[];
  minimum?: number;
  maximum?: number;
  oneOf?: JsonSchema[];
  format?: string;
  default?: unknown;
}

/** A reference to a component schema (by any name: inside SCHEMAS, whose keys are not known yet). */
function link(name: string): JsonSchema {
  return { $ref: `#/components/schemas/${name}` };
}

const int = (description?: string): JsonSchema => ({ type: 'integer', minimum: 0, description });
const str = (description?: string): JsonSchema => ({ type: 'string', description });
const bool = (description?: string): JsonSchema => ({ type: 'boolean', description });
const nullable = (type: string, description?: string): JsonSchema => ({
  type: [type, 'null'],
  description,
});

/** An object whose every listed field is required and no other is allowed. */
function record(properties: Record<string, JsonSchema>, description?: string): JsonSchema {
  return {
    type: 'object',
    description,
    properties,
    required: Object.keys(properties),
    additionalProperties: false,
  };
}

/** A page of `item`s (`nextCursor` null on the last page). */
function page(item: string): JsonSchema {
  return record({
    items: { type: 'array', items: link(item) },
    nextCursor: nullable('string', 'pass as `cursor` for the next page; null on the last page'),
  });
}

const qos: JsonSchema = { type: 'integer', enum: [0, 1, 2] };
const time = (description: string): JsonSchema => int(`${description} (ms since the epoch)`);
const countsByName = (description: string): JsonSchema => ({
  type: 'object',
  description,
  additionalProperties: { type: 'integer', minimum: 0 },
});

const clientSummary = {
  clientId: str(),
  username: nullable('string'),
  usernameVerified: bool('whether an authenticate hook vouched for the username'),
  address: nullable('string', 'remote address of the socket'),
  listener: str(),
  protocolVersion: { type: 'integer', enum: [3, 4, 5] },
  connectedAt: time('when CONNACK 0x00 went out'),
  keepAlive: int('seconds in force'),
  sessionExpiryInterval: int('seconds'),
};

const subscriptionInfo = record({
  clientId: str(),
  filter: str('as subscribed'),
  qos,
  noLocal: bool(),
  retainAsPublished: bool(),
  retainHandling: { type: 'integer', enum: [0, 1, 2] },
  subscriptionId: nullable('integer'),
  shareGroup: nullable('string'),
});

const willInfo = record({
  topic: str(),
  qos,
  retain: bool(),
  payloadBytes: int(),
  delayInterval: int('seconds'),
});

/** Every component schema of the document. */
export const SCHEMAS = {
  Problem: record(
    {
      type: str('a URI naming the kind of problem, e.g. urn:pipit:problem:bad-request'),
      title: str(),
      status: int('the HTTP status'),
      detail: str('what exactly was wrong'),
    },
    'An error (RFC 9457 problem details), sent as application/problem+json.',
  ),
  ClientSummary: record(clientSummary, 'A connected client.'),
  ClientDetails: record(
    {
      ...clientSummary,
      certificateIdentity: nullable('string'),
      subscriptions: { type: 'array', items: link('SubscriptionInfo') },
      inflight: int('QoS 1/2 messages sent and not yet acknowledged'),
      queuedMessages: int(),
      queuedBytes: int(),
      retainedBacklog: int(),
      outputBufferedBytes: int(),
      receiveMaximum: int(),
      lastActivity: time('the last read from the client'),
      will: { oneOf: [link('WillInfo'), { type: 'null' }] },
    },
    'A connected client with its session state.',
  ),
  WillInfo: willInfo,
  SessionSummary: record(
    {
      clientId: str(),
      connected: bool(),
      owner: {
        oneOf: [record({ username: nullable('string') }), { type: 'null' }],
        description: 'who the session belongs to; null while it is not bound yet',
      },
      expiryInterval: int('seconds'),
      stored: bool('written to the store: outlives a restart'),
      subscriptions: int(),
      inflight: int(),
      queuedMessages: int(),
      queuedBytes: int(),
    },
    'A session, connected or not.',
  ),
  SubscriptionInfo: subscriptionInfo,
  RetainedMessageInfo: record(
    {
      topic: str(),
      qos,
      payloadBytes: int(),
      payloadBase64: str('whole for one message, at most the first 256 bytes in lists'),
      payloadTruncated: bool(),
      payloadIsUtf8: bool('Payload Format Indicator 1'),
      contentType: nullable('string'),
      responseTopic: nullable('string'),
      userProperties: {
        type: 'array',
        items: { type: 'array', prefixItems: [str(), str()], minItems: 2, maxItems: 2 },
      },
      expiresAt: { type: ['integer', 'null'], minimum: 0, description: 'null: never' },
      publisherClientId: nullable('string', 'null: published by the host application'),
    },
    'A retained message.',
  ),
  BrokerCounters: {
    type: 'object',
    description:
      "The broker's counters (docs/api.md, Counters). Later versions may add counters; " +
      'clients should ignore those they do not know.',
    required: [
      'connectionsAccepted',
      'connectionsRejected',
      'connectionsCurrent',
      'connectionsOpen',
      'messagesReceived',
      'messagesSent',
      'bytesReceived',
      'bytesSent',
      'dropped',
      'refused',
      'memory',
      'sessions',
      'subscriptions',
      'retainedMessages',
    ],
    properties: {
      connectionsAccepted: int(),
      connectionsRejected: int(),
      connectionsCurrent: int('connected clients'),
      connectionsOpen: int('sockets open, also before CONNECT'),
      packetsReceived: int(),
      packetsSent: int(),
      bytesReceived: int(),
      bytesSent: int(),
      messagesReceived: int(),
      messagesSent: int(),
      dropped: countsByName('messages not delivered, by reason'),
      refused: countsByName('limit refusals, by limit'),
      protocolErrors: int(),
      outputHolds: int(),
      memory: countsByName('memory budget usage: limitBytes, usedBytes, retainedBytes, ...'),
      sessions: int(),
      subscriptions: int(),
      retainedMessages: int(),
      sharedSubscriptions: int('shared subscriptions, one per member of each $share group'),
      publishBytesReceived: int('payload bytes of PUBLISH packets received'),
      publishBytesSent: int('payload bytes of PUBLISH packets sent'),
    },
  },
  ClientSummaryPage: page('ClientSummary'),
  SessionSummaryPage: page('SessionSummary'),
  SubscriptionInfoPage: page('SubscriptionInfo'),
  RetainedMessageInfoPage: page('RetainedMessageInfo'),
  NodeInfoPage: page('NodeInfo'),
  NodeInfo: record({
    nodeId: str(),
    self: bool('true for the node that answered'),
    state: {
      type: 'string',
      enum: ['up', 'draining', 'unknown'],
      description: 'unknown: a live peer whose summary is missing',
    },
    version: nullable('string', 'null for a peer whose summary is missing'),
    startedAt: nullable(
      'integer',
      'when the node started (ms since the epoch); null for a peer whose summary is missing',
    ),
    uptimeSeconds: nullable('integer', 'null for a peer whose summary is missing'),
    address: nullable('string', 'where MQTT clients reach the node (cluster.advertise)'),
    connections: nullable('integer', "clients connected now (a peer's: at its last heartbeat)"),
    messagesReceived: nullable('integer', 'PUBLISH packets received from clients since start'),
    messagesSent: nullable('integer', 'PUBLISH packets sent to clients since start'),
    listeners: {
      type: 'array',
      items: record({ protocol: str(), host: str(), port: int(), url: str() }),
    },
  }),
  DrainAccepted: record({
    nodeId: str(),
    state: { type: 'string', enum: ['draining'] },
  }),
  ReloadReport: record({
    files: {
      type: 'array',
      items: record({
        path: str(),
        kind: { type: 'string', enum: ['password', 'acl'] },
        ok: bool('false: not reloaded, the previous contents stay in force'),
        error: nullable('string'),
        revoked: { type: 'array', items: str(), description: 'users removed or changed' },
      }),
    },
    revokedConnections: int('connections closed because their login was revoked'),
    tls: record({ ok: bool(), error: nullable('string') }),
    adminTokens: {
      ...record({
        ok: bool('false: not reloaded, the previous tokens stay in force'),
        error: nullable('string'),
        tokens: { type: 'array', items: str(), description: 'the names of the tokens in force' },
      }),
      type: ['object', 'null'],
      description: 'the admin API tokens reread from the configuration file; null without one',
    },
  }),
  PublishRequest: {
    type: 'object',
    additionalProperties: false,
    required: ['topic'],
    properties: {
      topic: str('a topic name: no wildcards'),
      payload: { type: 'string', default: '', description: 'text, or base64 (payloadEncoding)' },
      payloadEncoding: { type: 'string', enum: ['utf8', 'base64'], default: 'utf8' },
      qos: { ...qos, default: 0 },
      retain: { type: 'boolean', default: false },
      payloadIsUtf8: bool('MQTT 5 Payload Format Indicator 1 (the payload must be UTF-8)'),
      contentType: str(),
      responseTopic: str('a topic name: no wildcards'),
      correlationData: str('base64'),
      messageExpiryInterval: { type: 'integer', minimum: 0, maximum: 4294967295 },
      userProperties: {
        type: 'array',
        items: { type: 'array', prefixItems: [str(), str()], minItems: 2, maxItems: 2 },
        description: '[name, value] pairs, in order',
      },
    },
  },
  PublishResult: record({ deliveries: int('subscribers the message was delivered to') }),
  DisconnectRequest: {
    type: 'object',
    additionalProperties: false,
    properties: {
      reasonCode: {
        type: 'integer',
        minimum: 0,
        maximum: 255,
        default: 0x98,
        description: 'MQTT 5 DISCONNECT reason code a server may send (default 0x98)',
      },
      sendWill: { type: 'boolean', default: false },
    },
  },
} satisfies Record<string, JsonSchema>;

/** The name of a component schema. */
export type SchemaName = keyof typeof SCHEMAS;

/** A reference to a component schema. */
export function ref(name: SchemaName): JsonSchema {
  return link(name);
}
