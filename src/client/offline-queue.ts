/**
 * Publishes made while a reconnecting client is offline, kept in order up to a bound and sent
 * on the next connection. Each one's promise settles with the outcome of its publish there
 * (PUBACK / PUBCOMP for QoS 1/2); past the bound a publish is refused at once with
 * {@link OfflineQueueFullError}. QoS 1/2 publishes whose connection was lost before their
 * acknowledgement come back here (`requeue`) and go out first on the next connection.
 */
import type { PublishOptions } from './options.js';

/** A publish waiting for a connection. */
export interface WaitingPublish {
  topic: string;
  payload: string | Buffer;
  options: PublishOptions | undefined;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** A publish refused because the offline queue holds `limit` publishes already. */
export class OfflineQueueFullError extends Error {
  override readonly name = 'OfflineQueueFullError';

  constructor(readonly limit: number) {
    super(`offline queue full (${limit} publishes wait for a connection)`);
  }
}

/** The offline queue of one reconnecting client. */
export class OfflineQueue {
  private waiting: WaitingPublish[] = [];
  /** Sent once, lost with their connection: outside the bound (they were accepted already). */
  private resends: WaitingPublish[] = [];

  /** `limit`: most new publishes kept while offline. */
  constructor(readonly limit: number) {}

  /** Publishes waiting for a connection. */
  get size(): number {
    return this.waiting.length + this.resends.length;
  }

  /** Keeps a publish for the next connection; rejects at once when `limit` are waiting. */
  add(topic: string, payload: string | Buffer, options?: PublishOptions): Promise<void> {
    if (this.waiting.length >= this.limit)
      return Promise.reject(new OfflineQueueFullError(this.limit));
    return new Promise((resolve, reject) => {
      this.waiting.push({ topic, payload, options, resolve, reject });
    });
  }

  /** Takes back a publish whose connection was lost before its acknowledgement. */
  requeue(publish: WaitingPublish): void {
    this.resends.push(publish);
  }

  /** Hands everything waiting to `send`, in order: the resends first, then the new ones. */
  flush(send: (publish: WaitingPublish) => void): void {
    const all = [...this.resends, ...this.waiting];
    this.resends = [];
    this.waiting = [];
    for (const w of all) send(w);
  }

  /** The client stopped: every waiting publish fails with `error`. */
  rejectAll(error: Error): void {
    const all = [...this.resends, ...this.waiting];
    this.resends = [];
    this.waiting = [];
    for (const w of all) w.reject(error);
  }
}
