/**
 * What a bridge counts, read on demand (`broker.bridges()`, later the metrics endpoint):
 * plain fields, incremented where the event happens, never pushed anywhere.
 */

/** Counters of one bridge since the broker started. */
export interface BridgeCounters {
  /** Messages the remote acknowledged (QoS 1/2) or that were written to it (QoS 0). */
  messagesOut: number;
  /** Messages from the remote published here. */
  messagesIn: number;
  /** Messages from the remote the local ACL refused. */
  refusedIn: number;
  /** PUBACK/PUBREC with a failure code from an MQTT 5 remote. */
  refusedByRemote: number;
  /** Local messages no rule maps to a remote topic (none, unless rules changed). */
  unmapped: number;
  /** Local messages the remote cannot take (over its Maximum Packet Size, not encodable). */
  unsendable: number;
  /** Messages for the remote dropped by the session's bounds (queue full, memory budget...). */
  drops: number;
  /** Connections made to the remote. */
  connects: number;
  /** Connections made after the first (lost and made again). */
  reconnects: number;
  /** Failed connection attempts. */
  connectFailures: number;
}

/** All counters at 0. */
export function newCounters(): BridgeCounters {
  return {
    messagesOut: 0,
    messagesIn: 0,
    refusedIn: 0,
    refusedByRemote: 0,
    unmapped: 0,
    unsendable: 0,
    drops: 0,
    connects: 0,
    reconnects: 0,
    connectFailures: 0,
  };
}
