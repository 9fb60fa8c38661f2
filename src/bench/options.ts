/**
 * Defaults and validation of the bench options.
 */
import type { QoS } from '../protocol/packets.js';
import { PAYLOAD_HEADER_SIZE } from './payload.js';
import { type StreamOptions, TRANSPORTS } from './transport.js';
import type { BenchOptions, Scenario } from './types.js';

/** Options with every default filled in. */
export type ResolvedOptions = Required<Omit<BenchOptions, OptionalHooks>> &
  Pick<BenchOptions, OptionalHooks>;

/** Options that stay optional after resolution (no default makes sense for them). */
type OptionalHooks =
  | 'rate'
  | 'username'
  | 'password'
  | 'ca'
  | 'onProgress'
  | 'onMeasureStart'
  | 'onMeasureEnd'
  | 'onHalfConnected'
  | 'signal';

/** Default scale of each scenario (the `count` option). */
export const DEFAULT_COUNT: Readonly<Record<Scenario, number>> = {
  fanin: 10,
  fanout: 100,
  pairs: 100,
  conn: 10_000,
};

/**
 * Most sockets one run opens. Each is a file descriptor and the limit here is 20000 per
 * process: stay below it (the process's own files need a few hundred), whatever the
 * scenario. The comparison's `conn-19k` opens 19000.
 */
export const MAX_CONNECTIONS = 19_500;

/** Sockets a scenario of this scale opens. */
export function connectionsOf(scenario: Scenario, count: number): number {
  if (scenario === 'pairs') return 2 * count;
  return scenario === 'conn' ? count : count + 1;
}

/** The scenarios, for validation and help text. */
export const SCENARIOS: readonly Scenario[] = ['fanin', 'fanout', 'pairs', 'conn'];

function positiveInt(name: string, v: number, min = 1): number {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}`);
  return v;
}

/** Fills in defaults and rejects impossible values with a RangeError naming the option. */
export function resolveOptions(o: BenchOptions): ResolvedOptions {
  if (!SCENARIOS.includes(o.scenario)) {
    throw new RangeError(`scenario must be one of ${SCENARIOS.join(', ')}`);
  }
  const qos = (o.qos ?? 0) as QoS;
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new RangeError('qos must be 0, 1 or 2');
  const protocolVersion = o.protocolVersion ?? 4;
  if (protocolVersion !== 4 && protocolVersion !== 5) {
    throw new RangeError('protocolVersion must be 4 (3.1.1) or 5');
  }
  const payloadSize = positiveInt('payloadSize', o.payloadSize ?? 64, PAYLOAD_HEADER_SIZE);
  if (o.rate !== undefined && !(o.rate > 0)) throw new RangeError('rate must be > 0');
  const count = positiveInt('count', o.count ?? DEFAULT_COUNT[o.scenario]);
  if (connectionsOf(o.scenario, count) > MAX_CONNECTIONS) {
    throw new RangeError(
      `count ${count} would open more than ${MAX_CONNECTIONS} connections from one process`,
    );
  }
  const transport = o.transport ?? 'tcp';
  if (!TRANSPORTS.includes(transport)) {
    throw new RangeError(`transport must be one of ${TRANSPORTS.join(', ')}`);
  }
  const wsPath = o.wsPath ?? '/mqtt';
  if (!wsPath.startsWith('/')) throw new RangeError('wsPath must start with /');
  const pace = o.pace ?? 'timer';
  if (pace !== 'timer' && pace !== 'spin') throw new RangeError('pace must be timer or spin');
  if (pace === 'spin' && o.rate === undefined) {
    throw new RangeError('pace spin spaces a fixed rate: it needs rate');
  }
  const batch = positiveInt('batch', o.batch ?? 1);
  if (batch > 1 && o.rate !== undefined) {
    throw new RangeError(
      'batch applies to flat-out runs; with rate each message is sent at its tick',
    );
  }
  return {
    ...o,
    transport,
    wsPath,
    rejectUnauthorized: o.rejectUnauthorized ?? true,
    batch,
    pace,
    host: o.host ?? '127.0.0.1',
    port: positiveInt('port', o.port ?? 1883),
    publisherPorts: (o.publisherPorts ?? []).map((p) => positiveInt('publisherPorts', p)),
    subscriberPorts: (o.subscriberPorts ?? []).map((p) => positiveInt('subscriberPorts', p)),
    protocolVersion,
    qos,
    payloadSize,
    count,
    durationMs: positiveInt('durationMs', o.durationMs ?? 10_000, 0),
    warmupMs: positiveInt('warmupMs', o.warmupMs ?? 2000, 0),
    window: Math.min(positiveInt('window', o.window ?? 100), 1_000_000),
    drainTimeoutMs: positiveInt('drainTimeoutMs', o.drainTimeoutMs ?? 5000, 0),
    connectConcurrency: positiveInt('connectConcurrency', o.connectConcurrency ?? 100),
    progressIntervalMs: positiveInt('progressIntervalMs', o.progressIntervalMs ?? 250),
  };
}

/** The stream settings of resolved options (every connection of a run shares them). */
export function streamOptionsOf(o: ResolvedOptions): StreamOptions {
  return {
    host: o.host,
    port: o.port,
    transport: o.transport,
    wsPath: o.wsPath,
    ca: o.ca,
    rejectUnauthorized: o.rejectUnauthorized,
  };
}
