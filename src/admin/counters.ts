/** The broker's counters as one plain snapshot. */
import type { BrokerCore } from '../core/index.js';
import { sizes } from './core-view.js';
import type { BrokerCounters } from './types.js';

/** A copy of every counter now (later changes do not show in it). */
export function readCounters(core: BrokerCore): BrokerCounters {
  const m = core.metrics;
  return {
    connectionsAccepted: m.connectionsAccepted,
    connectionsRejected: m.connectionsRejected,
    connectionsCurrent: m.connectionsCurrent,
    packetsReceived: m.packetsReceived,
    packetsSent: m.packetsSent,
    bytesReceived: m.bytesReceived,
    bytesSent: m.bytesSent,
    messagesReceived: m.messagesReceived,
    messagesSent: m.messagesSent,
    dropped: { ...m.dropped },
    refused: { ...m.refused },
    protocolErrors: m.protocolErrors,
    outputHolds: m.outputHolds,
    memory: { ...m.memory },
    messagesReceivedByQos: [...m.messagesReceivedByQos],
    messagesSentByQos: [...m.messagesSentByQos],
    authFailures: m.authFailures,
    connectionsEstablished: m.connectionsEstablished,
    connectionsMaximum: m.connectionsMaximum,
    sessionsExpired: m.sessionsExpired,
    publishBytesReceived: m.publishBytesReceived,
    publishBytesSent: m.publishBytesSent,
    ...sizes(core),
  };
}
