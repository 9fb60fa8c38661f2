/**
 * A bridge's state on `$SYS/broker/connection/<name>/state`: retained, `1` while connected
 * and `0` otherwise, as Mosquitto's bridge notifications.
 */
import type { BrokerCore } from '../core/index.js';
import type { Logger } from '../ports/index.js';

/** The topic of a bridge's state. */
export function stateTopic(name: string): string {
  return `$SYS/broker/connection/${name}/state`;
}

/** Publishes the state from the broker itself (no client: no authorization applies). */
export function publishState(core: BrokerCore, name: string, up: boolean, logger: Logger): void {
  core
    .publishFromHost({ topic: stateTopic(name), payload: up ? '1' : '0', qos: 1, retain: true })
    .catch((err: unknown) => logger.error({ err }, 'bridge: publishing its state failed'));
}
