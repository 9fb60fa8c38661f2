/**
 * `pipit pub -l`: one message per line of stdin, on a connection that stays up. The lines
 * go out as they arrive, at most `-M` QoS 1/2 ones unanswered. When the connection is lost
 * the client reconnects as a bridge does (ReconnectingClient: jittered backoff, failover):
 * lines read meanwhile wait in the offline queue (`--offline-queue`, bounded; past it they
 * are dropped, counted and reported), and QoS 1/2 lines are sent again until acknowledged
 * (`resendOnLoss`: at least once, QoS 2 included, since a clean session cannot resume the
 * exchange). The connection the lines started on must come up: a first failure is reported.
 */
import {
  OfflineQueueFullError,
  type PublishOptions,
  ReconnectingClient,
  type ReconnectingClientOptions,
} from '../client/index.js';
import type { Properties } from '../protocol/properties.js';

/** What to publish, and how. */
export interface LinesJob {
  topic: string;
  publish: PublishOptions;
  lines: AsyncIterable<Buffer>;
  /** Most QoS 1/2 publishes unanswered on a connection (-M). */
  window: number;
  /** Properties of the final DISCONNECT (-D disconnect). */
  disconnect?: Properties;
  /** Stops reading the lines (the client gave up: nothing more can be sent). */
  stopReading: () => void;
}

/** Lines that were not sent: the offline queue was full, or a QoS 0 line went with its connection. */
export class LinesDroppedError extends Error {
  override readonly name = 'LinesDroppedError';
}

/** Publishes lines over a reconnecting client. */
export class LinePublisher {
  readonly client: ReconnectingClient;
  private dropped = 0;
  private fatal: unknown;
  private lastLoss: Error | undefined;
  /** Settles at the next loss of the connection (a full window stops waiting then). */
  private loss: Promise<void>;

  /** `options` must set `offlineQueue`; `warn` prints a line on stderr (unless --quiet). */
  constructor(
    private readonly options: ReconnectingClientOptions,
    private readonly warn: (line: string) => void,
    private readonly debug: boolean,
  ) {
    this.client = new ReconnectingClient({ ...options, resendOnLoss: true });
    this.loss = this.nextLoss();
    this.client.on('offline', (err) => {
      this.lastLoss = err;
    });
    this.client.on('reconnectFailed', (err) => {
      this.lastLoss = err;
    });
    this.client.on('reconnecting', (attempt, delayMs) => this.sayReconnecting(attempt, delayMs));
    this.client.on('connect', () => {
      if (this.debug) this.warn(`Connected; ${this.client.queued} lines waiting are sent`);
    });
  }

  /** Makes the first connection; rejects when it fails (see ReconnectingClient.start). */
  start(): Promise<void> {
    return this.client.start();
  }

  /** Publishes every line, then disconnects; rejects with the first fatal error. */
  async run(job: LinesJob): Promise<void> {
    // Given up (a refused CONNACK on reconnecting, a session taken over): stop reading.
    this.client.on('close', (err) => {
      if (err === undefined) return;
      this.fatal ??= err;
      job.stopReading();
    });
    const pending = new Set<Promise<void>>();
    // QoS 0 goes one line at a time on a connection, as before; QoS 1/2 up to -M.
    const limit = (job.publish.qos ?? 0) === 0 ? 1 : job.window;
    try {
      for await (const line of job.lines) {
        if (this.fatal !== undefined) break;
        const sent = this.publish(job.topic, line, job.publish);
        const tracked = sent.finally(() => pending.delete(tracked));
        pending.add(tracked);
        // While offline the lines go to the offline queue without waiting.
        if (this.client.connected && pending.size >= limit) {
          await Promise.race([...pending, this.loss]);
        }
      }
    } catch (err) {
      if (this.fatal === undefined) throw err; // stdin failed; after a give-up, the give-up
    }
    await Promise.all(pending);
    if (this.fatal !== undefined) throw this.fatal;
    await this.client.end(0, job.disconnect);
    if (this.dropped > 0) {
      const bound = this.options.offlineQueue;
      throw new LinesDroppedError(
        `${this.dropped} lines were not sent: lost with the connection or dropped while the offline queue was full (--offline-queue ${bound})`,
      );
    }
  }

  private publish(topic: string, line: Buffer, o: PublishOptions): Promise<void> {
    let sent: Promise<void>;
    try {
      sent = this.client.publish(topic, line, o);
    } catch (err) {
      sent = Promise.reject(err);
    }
    return sent.catch((err: unknown) => this.failed(err, o));
  }

  private failed(err: unknown, o: PublishOptions): void {
    const full = err instanceof OfflineQueueFullError;
    // A QoS 0 line written as the connection went is not sent again (at most once).
    const lostQos0 = (o.qos ?? 0) === 0 && !this.client.connected && this.fatal === undefined;
    if (!full && !lostQos0) {
      this.fatal ??= err;
      return;
    }
    if (++this.dropped === 1) {
      this.warn(
        full
          ? `Warning: offline queue full (--offline-queue ${this.options.offlineQueue}): lines are dropped until the broker is back`
          : 'Warning: a QoS 0 line was lost with the connection',
      );
    }
  }

  private nextLoss(): Promise<void> {
    return new Promise((resolve) =>
      this.client.once('offline', () => {
        this.loss = this.nextLoss();
        resolve();
      }),
    );
  }

  private sayReconnecting(attempt: number, delayMs: number): void {
    const why = this.lastLoss?.message ?? 'closed';
    const wait = `${delayMs / 1000} s`;
    if (attempt === 1) this.warn(`Connection lost (${why}); reconnecting in ${wait}`);
    else if (this.debug) this.warn(`Reconnect failed (${why}); next try in ${wait}`);
  }
}
