/**
 * Options and results of the `pipit bench` load generator.
 */
import type { QoS } from '../protocol/packets.js';
import type { LatencySummary } from './histogram.js';
import type { Transport } from './transport.js';

/** The load shapes the engine can run. */
export type Scenario = 'fanin' | 'fanout' | 'pairs' | 'conn';

/** How a fixed-rate run spaces its messages (see `BenchOptions.pace`). */
export type Pace = 'timer' | 'spin';

/** The engine's inputs. Every field but `scenario` has a default (see `resolveOptions`). */
export interface BenchOptions {
  scenario: Scenario;
  host?: string;
  port?: number;
  /**
   * Message scenarios: the ports publishers connect to, publisher i to `[i % length]` (e.g. one
   * node of a cluster while the subscribers are on another). Default: `[port]`.
   */
  publisherPorts?: readonly number[];
  /** The same for subscribers (subscriber i to `[i % length]`). Default: `[port]`. */
  subscriberPorts?: readonly number[];
  /** 4 = MQTT 3.1.1, 5 = MQTT 5.0. */
  protocolVersion?: 4 | 5;
  qos?: QoS;
  /** Payload bytes, at least PAYLOAD_HEADER_SIZE. */
  payloadSize?: number;
  /**
   * The scenario's scale: fanin publishers, fanout subscribers, pairs, or conn connections.
   */
  count?: number;
  /** Measured time in milliseconds (for conn: how long the connections are held). */
  durationMs?: number;
  /** Time before measuring, in milliseconds; its messages are checked but not timed. */
  warmupMs?: number;
  /**
   * Per publisher: messages sent but not yet delivered (or acknowledged) at most. Keeps the
   * broker's queues short so the result is throughput, not buffering.
   */
  window?: number;
  /** Total publish rate in msg/s across publishers; unset = as fast as the window allows. */
  rate?: number;
  /**
   * With `rate`: how sending is paced. `timer` (default) sends what is due on a 1 ms timer,
   * which fires every 1-3 ms, so messages leave in small bursts. `spin` checks the clock on
   * every event-loop turn (`setImmediate`, never sleeping: the generator takes a whole core)
   * and staggers the publishers, so each message leaves alone at its own time, evenly spaced:
   * the regime of one message when there is nothing to batch.
   */
  pace?: Pace;
  /** Longest wait for the last messages after publishing stops. */
  drainTimeoutMs?: number;
  /**
   * conn scenario: connection attempts in progress at once (default 100: Mosquitto listens
   * with a backlog of 100, and a full backlog costs a 1 s SYN retry, not broker speed).
   */
  connectConcurrency?: number;
  username?: string;
  password?: string;
  /** How to reach the broker: tcp (default), tls, ws or wss. */
  transport?: Transport;
  /** WebSocket path for ws and wss (default `/mqtt`). */
  wsPath?: string;
  /** tls, wss: PEM of the CA that signed the broker's certificate (default: the system's). */
  ca?: string | Buffer;
  /** tls, wss: verify the broker's certificate (default true). */
  rejectUnauthorized?: boolean;
  /**
   * Least messages a publisher writes at once (default 1: it writes whatever its window
   * allows as soon as one message is allowed). With N > 1 it waits until N are allowed and
   * writes a multiple of N in one write, so many packets share one syscall, as an efficient
   * client sends. Capped at the window (and at the broker's Receive Maximum for QoS 1/2).
   * Flat-out runs only: with `rate` each message goes out at its tick.
   */
  batch?: number;
  /** Called about every `progressIntervalMs` with running counters. */
  onProgress?: (p: BenchProgress) => void;
  progressIntervalMs?: number;
  /**
   * Stops the run early (Ctrl-C): the phase under way ends at once, in-flight messages get
   * a short drain, and the result covers what ran, with `interrupted` set.
   */
  signal?: AbortSignal;
  /** Called when measuring starts and ends (the comparison harness samples the broker). */
  onMeasureStart?: () => void | Promise<void>;
  onMeasureEnd?: () => void | Promise<void>;
  /**
   * conn only: when given, the connections open in two halves and this runs in between,
   * with the number established so far. The harness reads the broker's memory there, so the
   * cost per connection can be taken between the halves, free of fixed start-up growth.
   * The pause is left out of the connect rate and the CPU figures.
   */
  onHalfConnected?: (established: number) => void | Promise<void>;
}

/** Running counters for a progress display. */
export interface BenchProgress {
  phase: 'setup' | 'warmup' | 'measure' | 'drain' | 'hold';
  /** Milliseconds into the current phase, and the phase's planned length. */
  elapsedMs: number;
  plannedMs: number;
  sent: number;
  delivered: number;
  connections: number;
}

/** CPU used by the load generator itself while measuring. */
export interface ClientCpu {
  userMs: number;
  systemMs: number;
  /** Percent of one core; near 100 means the result is bound by the client, not the broker. */
  percent: number;
}

/** The outcome of one run. */
export interface BenchResult {
  scenario: Scenario;
  host: string;
  port: number;
  protocolVersion: 4 | 5;
  qos: QoS;
  payloadSize: number;
  publishers: number;
  subscribers: number;
  /** Requested total rate, if any. */
  rate: number | undefined;
  /** How the fixed rate was paced; absent for flat-out and conn runs. */
  pace?: Pace;
  transport: Transport;
  /** The `batch` option as the publishers applied it (after the caps). */
  batch: number;
  /**
   * Publisher socket writes over the whole run, and messages per write (sent / writes) and
   * the fewest in one write: how many packets share a syscall.
   */
  writes: number;
  packetsPerWrite: number;
  minPacketsPerWrite: number;
  /** Actual measured seconds. */
  seconds: number;
  /** Messages published and deliveries received while measuring. */
  sent: number;
  delivered: number;
  sentPerSec: number;
  deliveredPerSec: number;
  /** Delivery latency; for conn, connect latency (from `net.connect` to the CONNACK). */
  latency: LatencySummary;
  /** Over the whole run (warm-up and drain included). */
  totalSent: number;
  totalDelivered: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  /** Negative acknowledgements (MQTT 5 reason >= 0x80) and protocol errors seen. */
  errors: number;
  cpu: ClientCpu;
  /** True when the generator used more than 90% of its core while measuring. */
  clientBound: boolean;
  /** conn scenario only. */
  connections?: ConnResult;
  /**
   * Set when `signal` stopped the run: the phase it stopped. After 'warmup' the figures
   * cover the warm-up (no measuring had started).
   */
  interrupted?: 'setup' | 'warmup' | 'measure' | 'drain' | 'hold';
}

/** The conn scenario's figures. */
export interface ConnResult {
  requested: number;
  established: number;
  failed: number;
  /** Seconds from the first attempt to the last CONNACK. */
  connectSeconds: number;
  connectsPerSec: number;
  /** The first failure's message, when some connections failed. */
  firstError?: string;
}

/** Ctrl-C came while the connections were still being opened: there is nothing to report. */
export class BenchInterruptedError extends Error {
  override readonly name = 'BenchInterruptedError';

  constructor(readonly connectionsOpen: number) {
    super(`interrupted while opening connections (${connectionsOpen} open): nothing measured`);
  }
}
