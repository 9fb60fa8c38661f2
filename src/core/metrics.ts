/**
 * Counters the core keeps. Plain numbers on one object: cheap on the hot path, read by
 * $SYS, the Prometheus exporter and tests.
 */

/** Why a message was not delivered to a subscriber. */
export type DropReason =
  | 'queue-full'
  | 'socket-congested'
  | 'expired'
  | 'packet-too-large'
  | 'offline-qos0'
  | 'retained-limit'
  | 'hook';

/** The broker's counters. */
export interface CoreMetrics {
  connectionsAccepted: number;
  connectionsRejected: number;
  connectionsCurrent: number;
  packetsReceived: number;
  packetsSent: number;
  bytesReceived: number;
  bytesSent: number;
  messagesReceived: number;
  messagesSent: number;
  /** Drops by reason; every message the broker declines to deliver is counted here. */
  dropped: Record<DropReason, number>;
  protocolErrors: number;
}

/** Fresh zeroed counters. */
export function createCoreMetrics(): CoreMetrics {
  return {
    connectionsAccepted: 0,
    connectionsRejected: 0,
    connectionsCurrent: 0,
    packetsReceived: 0,
    packetsSent: 0,
    bytesReceived: 0,
    bytesSent: 0,
    messagesReceived: 0,
    messagesSent: 0,
    dropped: {
      'queue-full': 0,
      'socket-congested': 0,
      expired: 0,
      'packet-too-large': 0,
      'offline-qos0': 0,
      'retained-limit': 0,
      hook: 0,
    },
    protocolErrors: 0,
  };
}
