/**
 * Bridges to other MQTT brokers (docs/bridges.md): a bridge is a local persistent session
 * forwarding to a remote through Pipit's client, and a remote subscription publishing here.
 */
export { Bridge, type BridgeStatus } from './bridge.js';
export type { BridgeCounters } from './bridge-counters.js';
export {
  BRIDGE_LISTENER,
  type BridgeDirection,
  type BridgeOptions,
  bridgeSessionId,
  type TopicRule,
} from './bridge-options.js';
export { BridgeSet } from './bridge-set.js';
export { stateTopic } from './bridge-state.js';
export { type CompiledRule, compileRule, TopicRules } from './topic-rules.js';
