/**
 * What the `$SYS` tree says, read from the broker's counters at one moment: Mosquitto's topic
 * names and units where Mosquitto has them (docs/operations.md has the table), then
 * Pipit's own under `$SYS/broker/pipit/`. Counters are read, never pushed: the hot path only
 * bumps its plain counter fields (src/core/metrics.ts).
 */
import type { BrokerCounters } from '../admin/index.js';

/** The prefix of every topic. */
export const SYS_PREFIX = '$SYS/broker/';

/** One `$SYS` value: a topic under {@link SYS_PREFIX} and an integer. */
export type SysValue = readonly [topic: string, value: number];

/** The heap as `$SYS/broker/heap/...` reports it (bytes). */
export interface HeapReading {
  current: number;
  /** The largest `current` seen at a `$SYS` update. */
  maximum: number;
}

/** The counters whose rate `$SYS/broker/load/<name>/{1,5,15}min` averages, by name. */
export function loadCounters(c: BrokerCounters): SysValue[] {
  return [
    ['messages/received', c.packetsReceived],
    ['messages/sent', c.packetsSent],
    ['publish/received', c.messagesReceived],
    ['publish/sent', c.messagesSent],
    ['publish/dropped', totalDropped(c)],
    ['bytes/received', c.bytesReceived],
    ['bytes/sent', c.bytesSent],
    ['sockets', c.connectionsAccepted],
    ['connections', c.connectionsEstablished],
  ];
}

/** Every Mosquitto-named counter and gauge, topic relative to {@link SYS_PREFIX}. */
export function mosquittoValues(c: BrokerCounters, heap: HeapReading): SysValue[] {
  const stored = c.retainedMessages + c.memory.queuedMessages;
  return [
    ['clients/connected', c.connectionsCurrent],
    ['clients/disconnected', Math.max(0, c.sessions - c.connectionsCurrent)],
    ['clients/total', c.sessions],
    ['clients/maximum', c.connectionsMaximum],
    ['clients/expired', c.sessionsExpired],
    // Every MQTT packet, as Mosquitto counts "messages"; PUBLISH packets are publish/messages.
    ['messages/received', c.packetsReceived],
    ['messages/sent', c.packetsSent],
    ['messages/stored', stored],
    ['store/messages/count', stored],
    ['publish/messages/received', c.messagesReceived],
    ['publish/messages/sent', c.messagesSent],
    ['publish/messages/dropped', totalDropped(c)],
    ['bytes/received', c.bytesReceived],
    ['bytes/sent', c.bytesSent],
    ['subscriptions/count', c.subscriptions],
    ['shared_subscriptions/count', c.sharedSubscriptions],
    ['publish/bytes/received', c.publishBytesReceived],
    ['publish/bytes/sent', c.publishBytesSent],
    // Mosquitto's is a counter of sockets accepted since start, not of sockets open.
    ['connections/socket/count', c.connectionsAccepted],
    ['retained messages/count', c.retainedMessages],
    ['heap/current', heap.current],
    ['heap/maximum', heap.maximum],
  ];
}

/** Pipit's own: drops by reason, refusals by kind, the memory budget, open sockets. */
export function pipitValues(c: BrokerCounters): SysValue[] {
  const values: SysValue[] = [];
  for (const [reason, count] of Object.entries(c.dropped)) {
    values.push([`pipit/dropped/${reason}`, count]);
  }
  for (const [kind, count] of Object.entries(c.refused)) {
    values.push([`pipit/refused/${kind}`, count]);
  }
  values.push(
    ['pipit/memory/used', c.memory.usedBytes],
    ['pipit/memory/limit', c.memory.limitBytes],
    ['pipit/connections/open', c.connectionsOpen],
  );
  return values;
}

/** Messages not delivered, all reasons together (Mosquitto's publish/messages/dropped). */
function totalDropped(c: BrokerCounters): number {
  let total = 0;
  for (const count of Object.values(c.dropped)) total += count;
  return total;
}
