/**
 * The client's side of messages from the server: each one delivered once (a QoS 2 message
 * re-sent before its PUBREL is not delivered again [MQTT-4.3.3-2]), then acknowledged: PUBACK
 * for QoS 1 [MQTT-4.3.2-2], PUBREC for QoS 2, PUBCOMP for PUBREL. With `deferAcks`, the PUBACK
 * or PUBREC waits for `acknowledge(packet)`: a bridge acknowledges a message only once it is
 * its own (routed and stored), so that a crash before that leaves it with the server.
 */
import type { Packet, PublishPacket } from '../protocol/packets.js';

/** Inbound messages of one connection. */
export class InboundPublishes {
  /** QoS 2 packet ids delivered and not yet released (PUBREL). */
  private readonly unreleased = new Set<number>();

  constructor(
    private readonly send: (packet: Packet) => void,
    private readonly deliver: (packet: PublishPacket) => void,
    private readonly deferAcks: boolean,
  ) {}

  /** A PUBLISH arrived. */
  received(p: PublishPacket): void {
    if (p.qos === 2) {
      // Exactly once: a re-sent PUBLISH whose id is not yet released is not delivered again.
      const fresh = !this.unreleased.has(p.packetId!);
      this.unreleased.add(p.packetId!);
      if (fresh) this.deliver(p);
      if (!fresh || !this.deferAcks) this.acknowledge(p);
      return;
    }
    this.deliver(p);
    if (p.qos === 1 && !this.deferAcks) this.acknowledge(p);
  }

  /** Sends the PUBACK (QoS 1) or PUBREC (QoS 2) of `p`; nothing for QoS 0. */
  acknowledge(p: PublishPacket): void {
    // [MQTT-4.3.2-2] PUBACK carries the PUBLISH's packet id.
    if (p.qos === 1) this.send({ type: 'puback', packetId: p.packetId! });
    else if (p.qos === 2) this.send({ type: 'pubrec', packetId: p.packetId! });
  }

  /** PUBREL: the id is released and PUBCOMP answers [MQTT-4.3.3-2]. */
  released(packetId: number): void {
    this.unreleased.delete(packetId);
    this.send({ type: 'pubcomp', packetId });
  }
}
