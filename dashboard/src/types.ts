/** The shapes of the admin API's answers the page reads (docs/api.md, /api/v1/openapi.json). */

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Counters {
  connectionsCurrent: number;
  connectionsOpen: number;
  bytesReceived: number;
  bytesSent: number;
  messagesReceived: number;
  messagesSent: number;
  messagesReceivedByQos: [number, number, number];
  messagesSentByQos: [number, number, number];
  dropped: Record<string, number>;
  sessions: number;
  subscriptions: number;
  retainedMessages: number;
  memory: { limitBytes: number; usedBytes: number };
}

export interface Runtime {
  eventLoopDelayMs: { mean: number; p99: number; max: number };
  storeCommits: { commits: number; batchSecondsTotal: number; commitSecondsTotal: number } | null;
  rssBytes: number;
  heapUsedBytes: number;
}

export interface NodeInfo {
  nodeId: string;
  self: boolean;
  /** `unknown`: a live peer whose summary is missing. */
  state: 'up' | 'draining' | 'unknown';
  version: string | null;
  startedAt: number | null;
  uptimeSeconds: number | null;
  address: string | null;
  connections: number | null;
  messagesReceived: number | null;
  messagesSent: number | null;
  listeners: { protocol: string; host: string; port: number; url: string }[];
}

export interface ClientSummary {
  clientId: string;
  username: string | null;
  address: string | null;
  listener: string;
  protocolVersion: number;
  connectedAt: number;
}

export interface SessionSummary {
  clientId: string;
  subscriptions: number;
  inflight: number;
  queuedMessages: number;
  queuedBytes: number;
}

export interface Subscription {
  filter: string;
  qos: number;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: number;
  subscriptionId: number | null;
  shareGroup: string | null;
}

export interface ClientDetails extends ClientSummary {
  keepAlive: number;
  sessionExpiryInterval: number;
  subscriptions: Subscription[];
  inflight: number;
  queuedMessages: number;
  queuedBytes: number;
  retainedBacklog: number;
  outputBufferedBytes: number;
  receiveMaximum: number;
  lastActivity: number;
  will: { topic: string; qos: number; retain: boolean; payloadBytes: number } | null;
}

export interface RetainedMessage {
  topic: string;
  qos: number;
  payloadBytes: number;
  payloadBase64: string;
  payloadTruncated: boolean;
  contentType: string | null;
  expiresAt: number | null;
  publisherClientId: string | null;
}

export interface TapMessage {
  topic: string;
  qos: number;
  retain: boolean;
  payloadBytes: number;
  payloadBase64: string;
  payloadTruncated: boolean;
  publisherClientId: string | null;
  at: number;
}

export interface TapCounts {
  sent: number;
  droppedRate: number;
  droppedSlow: number;
}
