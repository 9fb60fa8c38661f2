/**
 * The limits that guard the broker against hostile or runaway clients, apart from the
 * per-session queue bounds: connection caps, topic size, and the one place that counts and
 * logs every refusal. Refusals of one kind are logged at most once (a few for failed logins
 * and denied publishes) per {@link LOG_INTERVAL_MS}, with the number left unlogged since, so
 * a flood cannot turn into a log flood.
 */
import type { Clock, Logger } from '../ports/index.js';
import { addressKey, isLoopbackAddress } from './address-key.js';
import type { CoreMetrics, RefusalKind } from './metrics.js';

/** The window within which log lines about one kind of refusal are counted. */
export const LOG_INTERVAL_MS = 10_000;

/**
 * Lines logged per kind and window: one for limits (a flood of one kind says the same thing
 * again and again), more for what an operator reads one by one (each failed login or denied
 * publish names another client). Past the burst, the refusals are counted and the next
 * logged line says how many were not (`suppressed`).
 */
const LOG_BURST: Partial<Record<RefusalKind, number>> = {
  'auth-failed': 20,
  'publish-denied': 10,
  'subscribe-denied': 10,
  'tls-handshake': 10,
};

/** Counts refusals in `metrics.refused` and logs them, throttled per kind. */
export class RefusalLog {
  /** Per kind: when its window began and the lines logged in it. */
  private readonly windows = new Map<RefusalKind, { start: number; logged: number }>();
  private readonly unlogged = new Map<RefusalKind, number>();

  constructor(
    private readonly metrics: CoreMetrics,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  /**
   * Counts one refusal of `kind`; logs it (at warn) unless the kind's lines for this 10 s
   * window were logged already. `fields` may be a function of `context`, called only when
   * the line is logged: with a function that is not a closure, a flood of refusals
   * allocates nothing.
   */
  note<C>(
    kind: RefusalKind,
    fields: Record<string, unknown> | ((context: C) => Record<string, unknown>),
    message: string,
    context?: C,
  ): void {
    this.metrics.refused[kind]++;
    if (!this.mayLog(kind)) {
      this.unlogged.set(kind, (this.unlogged.get(kind) ?? 0) + 1);
      return;
    }
    const suppressed = this.unlogged.get(kind) ?? 0;
    this.unlogged.delete(kind);
    const logged = typeof fields === 'function' ? fields(context as C) : fields;
    this.logger.warn(
      { ...logged, limit: kind, total: this.metrics.refused[kind], suppressed },
      message,
    );
  }

  /** True when one more line of `kind` fits its window (starting a new window when due). */
  private mayLog(kind: RefusalKind): boolean {
    const now = this.clock.now();
    const window = this.windows.get(kind);
    if (window === undefined || now - window.start >= LOG_INTERVAL_MS) {
      this.windows.set(kind, { start: now, logged: 1 });
      return true;
    }
    if (window.logged >= (LOG_BURST[kind] ?? 1)) return false;
    window.logged++;
    return true;
  }
}

/** Per-address connection limit settings of {@link ConnectionAdmission}. */
export interface AddressLimit {
  /** Open sockets per source address (IPv6: per /64); 0 = no cap. */
  maxConnectionsPerAddress: number;
  /** Count loopback sources too. */
  onLoopback: boolean;
}

/**
 * The global connection cap, shared by every listener, and the per-address cap. Transports
 * ask before they read a byte from a new socket and release when it closes, so sockets
 * still in a TLS handshake or an HTTP upgrade count too.
 */
export class ConnectionAdmission {
  /** Sockets admitted and not yet closed, all listeners together. */
  open = 0;
  /** Open sockets per address key, for addresses with at least one (see address-key.ts). */
  private readonly perAddress = new Map<string, number>();

  constructor(
    private readonly maxConnections: number,
    private readonly refusals: RefusalLog,
    private readonly addressLimit: AddressLimit = {
      maxConnectionsPerAddress: 0,
      onLoopback: false,
    },
  ) {}

  /**
   * Decides on a new socket on `listener` from `remoteAddress`: below the global
   * `maxConnections` (0 = no cap), below the listener's own cap (0 or undefined = none) and
   * below `maxConnectionsPerAddress` for its source. Returns `false` when refused (the caller
   * closes the socket before anything is read); otherwise the socket counts as open and the
   * result is what {@link release} takes when it closes: its address key, or `null` when its
   * address is not counted (no per-address cap, a loopback source, no address).
   */
  admit(
    listener: string,
    listenerOpen: number,
    listenerMax: number | undefined,
    remoteAddress?: string,
  ): string | null | false {
    if (this.maxConnections > 0 && this.open >= this.maxConnections) {
      this.refusals.note(
        'connections',
        { listener, maxConnections: this.maxConnections },
        'connection refused: maxConnections reached',
      );
      return false;
    }
    if (listenerMax !== undefined && listenerMax > 0 && listenerOpen >= listenerMax) {
      this.refusals.note(
        'listener-connections',
        { listener, maxConnections: listenerMax },
        'connection refused: the listener maxConnections reached',
      );
      return false;
    }
    const key = this.addressKeyOf(remoteAddress);
    if (key !== null) {
      const count = this.perAddress.get(key) ?? 0;
      const max = this.addressLimit.maxConnectionsPerAddress;
      if (count >= max) {
        this.refusals.note(
          'address-connections',
          { listener, remoteAddress, maxConnectionsPerAddress: max },
          'connection refused: maxConnectionsPerAddress reached for this source address',
        );
        return false;
      }
      this.perAddress.set(key, count + 1);
    }
    this.open++;
    return key;
  }

  /** An admitted socket closed; `key` is what {@link admit} returned for it. */
  release(key: string | null = null): void {
    if (this.open > 0) this.open--;
    if (key === null) return;
    const count = this.perAddress.get(key) ?? 0;
    if (count <= 1) this.perAddress.delete(key);
    else this.perAddress.set(key, count - 1);
  }

  private addressKeyOf(remoteAddress: string | undefined): string | null {
    if (this.addressLimit.maxConnectionsPerAddress <= 0 || remoteAddress === undefined) return null;
    if (!this.addressLimit.onLoopback && isLoopbackAddress(remoteAddress)) return null;
    return addressKey(remoteAddress);
  }
}

/** Which topic limit a name or filter breaks. */
export type TopicLimit = 'topic-length' | 'topic-levels';

/**
 * The limit `topic` breaks, or undefined: more than `maxLength` UTF-8 bytes or more than
 * `maxLevels` levels (separated by `/`). Topics shorter than both limits are not scanned,
 * so the common case costs two comparisons.
 */
export function topicLimitProblem(
  topic: string,
  maxLength: number,
  maxLevels: number,
): TopicLimit | undefined {
  const chars = topic.length;
  // A UTF-16 unit is at most 3 UTF-8 bytes; n characters have at most n + 1 levels.
  if (chars * 3 > maxLength && Buffer.byteLength(topic) > maxLength) return 'topic-length';
  if (chars + 1 <= maxLevels) return undefined;
  let levels = 1;
  for (let i = 0; i < chars; i++) {
    if (topic.charCodeAt(i) === 0x2f && ++levels > maxLevels) return 'topic-levels';
  }
  return undefined;
}

/**
 * Checks `topic` (a topic name, will topic or filter) against `maxTopicLength` and
 * `maxTopicLevels`. When it breaks one, counts and logs the refusal and returns why, for the
 * error or reason string; undefined when the topic is within the limits.
 */
export function refuseTopic(
  refusals: RefusalLog,
  limits: { maxTopicLength: number; maxTopicLevels: number },
  topic: string,
  fields: { clientId: string; what: 'publish' | 'will' | 'subscribe' },
): string | undefined {
  const problem = topicLimitProblem(topic, limits.maxTopicLength, limits.maxTopicLevels);
  if (problem === undefined) return undefined;
  const why =
    problem === 'topic-length'
      ? `longer than maxTopicLength (${limits.maxTopicLength} bytes)`
      : `more levels than maxTopicLevels (${limits.maxTopicLevels})`;
  refusals.note(
    problem,
    { ...fields, topicBytes: Buffer.byteLength(topic), topicStart: topic.slice(0, 64) },
    `${fields.what} refused: topic ${why}`,
  );
  return why;
}
