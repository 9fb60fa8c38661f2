/**
 * Publishes made while a reconnecting client is offline, kept in order up to a bound and sent
 * on the next connection. Each one's promise settles with the outcome of its publish there
 * (PUBACK / PUBCOMP for QoS 1/2); past the bound a publish is refused at once.
 */
import type { MqttClient } from './mqtt-client.js';
import type { PublishOptions } from './options.js';

interface Waiting {
  topic: string;
  payload: string | Buffer;
  options: PublishOptions | undefined;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** The offline queue of one reconnecting client. */
export class OfflineQueue {
  private waiting: Waiting[] = [];

  /** `limit`: most publishes kept while offline. */
  constructor(readonly limit: number) {}

  /** Publishes waiting for a connection. */
  get size(): number {
    return this.waiting.length;
  }

  /** Keeps a publish for the next connection; rejects at once when `limit` are waiting. */
  add(topic: string, payload: string | Buffer, options?: PublishOptions): Promise<void> {
    if (this.waiting.length >= this.limit) {
      return Promise.reject(
        new Error(`offline queue full (${this.limit} publishes wait for a connection)`),
      );
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ topic, payload, options, resolve, reject });
    });
  }

  /** Sends everything waiting on `client`, in order. */
  flush(client: MqttClient): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) {
      client.publish(w.topic, w.payload, w.options).then(w.resolve, w.reject);
    }
  }

  /** The client stopped: every waiting publish fails with `error`. */
  rejectAll(error: Error): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w.reject(error);
  }
}
