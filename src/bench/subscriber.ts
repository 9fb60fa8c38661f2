/**
 * A bench subscriber: checks each message's publisher and sequence number, records its
 * latency while measuring, and acknowledges QoS 1 and 2 deliveries in batches.
 */
import type { Packet } from '../protocol/packets.js';
import type { RunContext } from './context.js';
import { PAYLOAD_HEADER_SIZE } from './payload.js';
import { ACK_BYTE, type RawConnection } from './raw-connection.js';
import { SequenceTracker } from './sequence-tracker.js';

/** One subscribing connection. */
export class BenchSubscriber {
  readonly tracker = new SequenceTracker();
  /** Messages received that were not this run's (wrong tag or too short). */
  foreign = 0;

  constructor(
    readonly conn: RawConnection,
    private readonly ctx: RunContext,
  ) {
    conn.onPacket = (p) => this.handle(p);
    conn.afterChunk = () => ctx.schedulePump();
  }

  private handle(p: Packet): void {
    if (p.type === 'pubrel') {
      this.conn.queueAck(ACK_BYTE.pubcomp, p.packetId);
      return;
    }
    if (p.type !== 'publish') {
      if (p.type === 'disconnect') this.ctx.errors++;
      return;
    }
    if (p.qos === 1) this.conn.queueAck(ACK_BYTE.puback, p.packetId!);
    else if (p.qos === 2) this.conn.queueAck(ACK_BYTE.pubrec, p.packetId!);
    const payload = p.payload;
    if (payload.length < PAYLOAD_HEADER_SIZE || payload.readUInt32LE(0) !== this.ctx.runTag) {
      this.foreign++;
      return;
    }
    const publisher = payload.readUInt32LE(4);
    const settled = this.tracker.record(publisher, payload.readUInt32LE(8));
    if (settled > 0 && this.ctx.settled[publisher] !== undefined) {
      this.ctx.settled[publisher] += settled;
    }
    this.ctx.delivered++;
    if (this.ctx.measuring) {
      this.ctx.latency.record((this.conn.chunkNs - payload.readDoubleLE(12)) / 1000);
    }
  }
}
