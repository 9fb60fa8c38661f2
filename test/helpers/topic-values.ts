/**
 * The latest payload per topic that an MQTT.js client received, and waits for a topic's
 * value to satisfy a condition (for `$SYS` values, which move on the broker's schedule).
 */
import type { MqttClient } from 'mqtt';

/** Records what `client` receives from now on. */
export class TopicValues {
  /** Latest payload (UTF-8) per topic. */
  readonly latest = new Map<string, string>();
  /** Topics received at least once with the RETAIN flag set. */
  readonly retained = new Set<string>();
  private readonly waiters = new Set<() => void>();

  constructor(client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.latest.set(topic, payload.toString());
      if (packet.retain) this.retained.add(topic);
      for (const wake of [...this.waiters]) wake();
    });
  }

  /** Resolves with `topic`'s value once `accept(value)` holds; rejects after `timeoutMs`. */
  until(topic: string, accept: (value: string) => boolean, timeoutMs = 15_000): Promise<string> {
    return this.wait(
      () => {
        const value = this.latest.get(topic);
        return value !== undefined && accept(value) ? value : undefined;
      },
      timeoutMs,
      () => `${topic} (last value: ${this.latest.get(topic) ?? 'none'})`,
    );
  }

  /** Resolves once every topic of `topics` has arrived. */
  untilAll(topics: readonly string[], timeoutMs = 15_000): Promise<void> {
    return this.wait(
      () => (topics.every((t) => this.latest.has(t)) ? true : undefined),
      timeoutMs,
      () => `missing: ${topics.filter((t) => !this.latest.has(t)).join(', ')}`,
    ).then(() => undefined);
  }

  private wait<T>(check: () => T | undefined, timeoutMs: number, what: () => string): Promise<T> {
    return new Promise((resolve, reject) => {
      const attempt = (): boolean => {
        const found = check();
        if (found === undefined) return false;
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(found);
        return true;
      };
      const wake = (): void => void attempt();
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        reject(new Error(`timed out waiting for ${what()}`));
      }, timeoutMs);
      if (!attempt()) this.waiters.add(wake);
    });
  }
}
