/**
 * Per-bridge metrics (`pipit_bridge_*`, label `bridge`), read at scrape time from the counters
 * each bridge keeps (`broker.bridges()`): its state, messages each way, what waits for the
 * remote, connections and drops. Registered only on a broker with bridges.
 */
import { Counter, type Registry } from 'prom-client';
import { readLabelledGauge } from './read-metrics.js';

/** What the metrics read of one bridge (a `BridgeStatus` is one). */
export interface BridgeFigures {
  readonly name: string;
  readonly connected: boolean;
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly queued: number;
  readonly inflight: number;
  readonly connects: number;
  readonly reconnects: number;
  readonly connectFailures: number;
  readonly drops: number;
}

/** A counter per bridge, and per `extra` label value when it has one. */
function bridgeCounter(
  registry: Registry,
  name: string,
  help: string,
  read: () => readonly BridgeFigures[],
  values: (b: BridgeFigures) => Iterable<readonly [Record<string, string>, number]>,
  extra: string[] = [],
): void {
  new Counter({
    name,
    help,
    labelNames: ['bridge', ...extra],
    registers: [registry],
    collect() {
      this.reset();
      for (const bridge of read()) {
        for (const [labels, value] of values(bridge)) {
          this.inc({ bridge: bridge.name, ...labels }, value);
        }
      }
    },
  });
}

/** Registers the `pipit_bridge_*` metrics over `read` (the broker's bridges, read per scrape). */
export function registerBridgeMetrics(
  registry: Registry,
  read: () => readonly BridgeFigures[],
): void {
  const gauge = (name: string, help: string, value: (b: BridgeFigures) => number): void =>
    readLabelledGauge(registry, name, help, ['bridge'], () =>
      read().map((b) => [{ bridge: b.name }, value(b)] as const),
    );
  gauge('pipit_bridge_up', '1 while the bridge is connected to its remote, else 0.', (b) =>
    b.connected ? 1 : 0,
  );
  gauge(
    'pipit_bridge_queued_messages',
    'Messages for the remote waiting in the bridge session (not sent yet).',
    (b) => b.queued,
  );
  gauge(
    'pipit_bridge_inflight_messages',
    'Messages sent to the remote and not acknowledged yet.',
    (b) => b.inflight,
  );
  bridgeCounter(
    registry,
    'pipit_bridge_messages_total',
    'Messages through the bridge: out (acknowledged by the remote, or written at QoS 0) and in (from the remote, published here).',
    read,
    (b) => [
      [{ direction: 'out' }, b.messagesOut],
      [{ direction: 'in' }, b.messagesIn],
    ],
    ['direction'],
  );
  bridgeCounter(
    registry,
    'pipit_bridge_connects_total',
    'Connections made to the remote.',
    read,
    (b) => [[{}, b.connects]],
  );
  bridgeCounter(
    registry,
    'pipit_bridge_reconnects_total',
    'Connections made to the remote after the first (lost and made again).',
    read,
    (b) => [[{}, b.reconnects]],
  );
  bridgeCounter(
    registry,
    'pipit_bridge_connect_failures_total',
    'Failed connection attempts to the remote.',
    read,
    (b) => [[{}, b.connectFailures]],
  );
  bridgeCounter(
    registry,
    'pipit_bridge_dropped_total',
    "Messages for the remote dropped by the bridge session's bounds (queue full, memory budget).",
    read,
    (b) => [[{}, b.drops]],
  );
}
