/**
 * Pipit's MQTT client: `connect(options)` resolves with an `MqttClient`.
 */
export { connect } from './connect.js';
export { MqttClient, type MqttClientEvents } from './mqtt-client.js';
export type { ClientOptions, PublishOptions, SubscribeOptions } from './options.js';
