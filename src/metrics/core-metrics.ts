/**
 * The broker's own metrics (`pipit_*`), read at scrape time from what the engine counts
 * (`core.metrics`, see src/core/metrics.ts) and holds (connections, sessions, subscriptions,
 * retained messages). Names follow Prometheus conventions: counters end in `_total`, sizes
 * are in bytes.
 */
import type { Registry } from 'prom-client';
import type { BrokerCore } from '../core/index.js';
import type { BridgeFigures } from './bridge-metrics.js';
import {
  readCounter,
  readGauge,
  readLabelledCounter,
  readLabelledGauge,
  type Series,
} from './read-metrics.js';

/** What the metrics read. */
export interface MetricsSource {
  readonly core: BrokerCore;
  /** Names of the running MQTT listeners: each gets its connection series, 0 included. */
  listenerNames(): readonly string[];
  /** The broker's bridges, when it has any: `pipit_bridge_*` (bridge-metrics.ts). */
  bridges?: () => readonly BridgeFigures[];
}

/** A metric without labels: name, help, and how to read it. */
type Plain = readonly [name: string, help: string, read: (core: BrokerCore) => number];
/** A metric with one label: name, help, label, and how to read its series. */
type Labelled = readonly [
  name: string,
  help: string,
  label: string,
  read: (core: BrokerCore) => Series,
];

const COUNTERS: readonly Plain[] = [
  [
    'pipit_connections_accepted_total',
    'Network connections accepted.',
    (c) => c.metrics.connectionsAccepted,
  ],
  [
    'pipit_connections_rejected_total',
    'Network connections that closed without completing CONNECT.',
    (c) => c.metrics.connectionsRejected,
  ],
  ['pipit_packets_received_total', 'MQTT packets received.', (c) => c.metrics.packetsReceived],
  ['pipit_packets_sent_total', 'MQTT packets sent.', (c) => c.metrics.packetsSent],
  [
    'pipit_received_bytes_total',
    'Bytes received from MQTT clients.',
    (c) => c.metrics.bytesReceived,
  ],
  ['pipit_sent_bytes_total', 'Bytes sent to MQTT clients.', (c) => c.metrics.bytesSent],
  [
    'pipit_auth_failures_total',
    'Logins refused by authentication: bad credentials, anonymous clients where they are not allowed, failed re-authentication.',
    (c) => c.metrics.authFailures,
  ],
  [
    'pipit_protocol_errors_total',
    'Connections closed for a protocol error.',
    (c) => c.metrics.protocolErrors,
  ],
  [
    'pipit_output_holds_total',
    "Times a connection's unsent output went over maxSocketBuffer and its reading was held.",
    (c) => c.metrics.outputHolds,
  ],
];

const LABELLED_COUNTERS: readonly Labelled[] = [
  [
    'pipit_messages_received_total',
    'PUBLISH messages received from clients, by QoS.',
    'qos',
    (c) => byQos(c.metrics.messagesReceivedByQos),
  ],
  [
    'pipit_messages_sent_total',
    'PUBLISH messages sent to clients, by the QoS they went out with.',
    'qos',
    (c) => byQos(c.metrics.messagesSentByQos),
  ],
  [
    'pipit_messages_dropped_total',
    'Messages not delivered to a subscriber, or not retained, by reason.',
    'reason',
    (c) => Object.entries(c.metrics.dropped),
  ],
  [
    'pipit_refusals_total',
    'Work refused by a limit, by the limit that refused it.',
    'kind',
    (c) => Object.entries(c.metrics.refused),
  ],
];

const GAUGES: readonly Plain[] = [
  [
    'pipit_connections_open',
    'Network connections open, including those that have not completed CONNECT.',
    (c) => c.connections.size,
  ],
  ['pipit_sessions', 'Sessions held, connected or not.', (c) => c.sessions.size],
  ['pipit_subscriptions', 'Subscriptions, shared ones included.', (c) => c.router.size],
  [
    'pipit_queued_messages',
    'Deliveries queued for sessions, in memory and in the store.',
    (c) => c.metrics.memory.queuedMessages,
  ],
  [
    'pipit_queued_bytes',
    'Memory held by deliveries queued in memory.',
    (c) => c.metrics.memory.queuedBytes,
  ],
  ['pipit_retained_messages', 'Retained messages held.', (c) => c.retained.size],
  [
    'pipit_retained_bytes',
    'Memory held by retained messages (topics, payloads, overhead).',
    (c) => c.metrics.memory.retainedBytes,
  ],
  [
    'pipit_memory_budget_bytes',
    'The memory budget (memoryBudget), the cap of pipit_memory_budget_used_bytes.',
    (c) => c.metrics.memory.limitBytes,
  ],
  [
    'pipit_memory_budget_used_bytes',
    'Memory charged to the budget: retained messages, sessions, subscriptions and queues.',
    (c) => c.metrics.memory.usedBytes,
  ],
];

/** The `protocol_version` label of each MQTT protocol level. */
const PROTOCOL_VERSIONS: Readonly<Record<number, string>> = { 3: '3.1', 4: '3.1.1', 5: '5.0' };

/** `[qos, count]` pairs of a by-QoS counter. */
function byQos(counts: readonly number[]): [string, number][] {
  return [0, 1, 2].map((qos) => [String(qos), counts[qos] ?? 0]);
}

type ConnectionLabels = Record<'listener' | 'protocol_version', string>;

/** Connected clients by listener and protocol version; every listener and version listed. */
function connectionsBy(source: MetricsSource): [ConnectionLabels, number][] {
  const series = new Map<string, [ConnectionLabels, number]>();
  const add = (listener: string, protocol_version: string, n: number): void => {
    const key = `${listener}\u0000${protocol_version}`;
    const entry = series.get(key);
    if (entry) entry[1] += n;
    else series.set(key, [{ listener, protocol_version }, n]);
  };
  for (const name of source.listenerNames()) {
    for (const version of Object.values(PROTOCOL_VERSIONS)) add(name, version, 0);
  }
  for (const conn of source.core.connections) {
    if (conn.state !== 'connected') continue;
    add(conn.client.listener, PROTOCOL_VERSIONS[conn.client.protocolVersion] ?? 'unknown', 1);
  }
  return [...series.values()];
}

/** Registers every `pipit_*` metric on `registry`, reading `source` at each scrape. */
export function registerCoreMetrics(registry: Registry, source: MetricsSource): void {
  const core = source.core;
  for (const [name, help, read] of COUNTERS) readCounter(registry, name, help, () => read(core));
  for (const [name, help, label, read] of LABELLED_COUNTERS) {
    readLabelledCounter(registry, name, help, label, () => read(core));
  }
  for (const [name, help, read] of GAUGES) readGauge(registry, name, help, () => read(core));
  readLabelledGauge(
    registry,
    'pipit_connections',
    'Clients connected (CONNECT accepted), by listener and MQTT protocol version.',
    ['listener', 'protocol_version'],
    () => connectionsBy(source),
  );
}
