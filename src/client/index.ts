/**
 * Pipit's MQTT client: `connect(options)` resolves with an `MqttClient` (one connection);
 * a `ReconnectingClient` connects again by itself when the connection is lost.
 */
export { connect, describeTarget } from './connect.js';
export { ConnectRefusedError, ServerDisconnectError } from './errors.js';
export {
  type BackoffPolicy,
  backoffDelay,
  probe,
  RECONNECT_JITTER,
  type ServerAddress,
  ServerList,
} from './failover.js';
export { type ConnectionSettings, MqttClient, type MqttClientEvents } from './mqtt-client.js';
export { OfflineQueueFullError } from './offline-queue.js';
export type {
  ClientOptions,
  PublishOptions,
  SubscribeOptions,
  TraceDirection,
  UnsubscribeOptions,
} from './options.js';
export { describeConnackCode, describeReasonCode } from './reason-names.js';
export {
  defaultShouldReconnect,
  ReconnectingClient,
  type ReconnectingClientEvents,
  type ReconnectingClientOptions,
  type ReconnectOptions,
} from './reconnecting-client.js';
