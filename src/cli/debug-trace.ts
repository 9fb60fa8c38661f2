/**
 * `-d`: one line on stdout per packet sent or received, in the shape mosquitto's clients
 * print them, e.g. `Client sensor-1 sending PUBLISH (d0, q1, r0, m1, 'a/b', ... (5 bytes))`.
 */
import type { MqttClient, TraceDirection } from '../client/index.js';
import type { Packet } from '../protocol/packets.js';

const bit = (b: boolean): number => (b ? 1 : 0);

/** The part of a trace line after the packet's name. */
function details(p: Packet): string {
  switch (p.type) {
    case 'connack':
      return ` (${p.reasonCode})`;
    case 'publish':
      return ` (d${bit(p.dup)}, q${p.qos}, r${bit(p.retain)}, m${p.packetId ?? 0}, '${p.topic}', ... (${p.payload.length} bytes))`;
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return ` (Mid: ${p.packetId}, RC:${p.reasonCode ?? 0})`;
    case 'subscribe':
      return ` (Mid: ${p.packetId}, ${p.subscriptions.map((s) => `Topic: ${s.filter}, QoS: ${s.qos}`).join('; ')})`;
    case 'unsubscribe':
      return ` (Mid: ${p.packetId}, ${p.filters.map((f) => `Topic: ${f}`).join('; ')})`;
    case 'suback':
    case 'unsuback':
      return ` (Mid: ${p.packetId}, RC: ${p.reasonCodes.join(', ') || '-'})`;
    case 'disconnect':
      return p.reasonCode === undefined ? '' : ` (${p.reasonCode})`;
    default:
      return '';
  }
}

/**
 * A `trace` option that prints each packet; `client()` is the connection (for its client
 * id, which the server may assign), undefined until it exists.
 */
export function debugTrace(
  client: () => MqttClient | undefined,
  out: NodeJS.WritableStream = process.stdout,
): (direction: TraceDirection, packet: Packet) => void {
  return (direction, packet) => {
    const id = client()?.clientId || (packet.type === 'connect' && packet.clientId) || '(null)';
    out.write(`Client ${id} ${direction} ${packet.type.toUpperCase()}${details(packet)}\n`);
  };
}
