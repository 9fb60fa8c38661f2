/**
 * A bridge's state, as Mosquitto's bridge notifications: retained, `1` while connected and
 * `0` otherwise. Here on `$SYS/broker/connection/<name>/state`; on the remote (when asked)
 * on the notification topic, with a will that sets it to `0` when the connection dies
 * without a DISCONNECT (the bridge's process killed, the network cut).
 */
import type { BrokerCore } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import type { Will } from '../protocol/index.js';
import type { BridgeOptions } from './bridge-options.js';

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

/** The topic of the state on the remote, or undefined when it is published here only. */
export function remoteStateTopic(options: BridgeOptions, clientId: string): string | undefined {
  if (options.notifications === false || (options.notificationsLocalOnly ?? true)) return undefined;
  return options.notificationTopic ?? `$SYS/broker/connection/${clientId}/state`;
}

/** The will of the remote connection: the state `0`, retained, QoS 1. */
export function stateWill(topic: string): Will {
  return { topic, payload: Buffer.from('0'), qos: 1, retain: true };
}
