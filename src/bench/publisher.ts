/**
 * A bench publisher: one PUBLISH encoded once, copied and patched (sequence, timestamp,
 * packet id) for every message, sent in batches within a window of unsettled messages.
 */
import { encode, publishPacketIdOffset } from '../protocol/index.js';
import type { Packet, QoS } from '../protocol/packets.js';
import type { RunContext } from './context.js';
import { nowNs, writeHeader } from './payload.js';
import { ACK_BYTE, type RawConnection } from './raw-connection.js';

/** Most messages written in one batch. */
const MAX_BATCH = 256;

/** What a publisher needs to know. */
export interface PublisherConfig {
  index: number;
  topic: string;
  qos: QoS;
  payloadSize: number;
  protocolVersion: 4 | 5;
  window: number;
  /** How many deliveries settle one message (the number of subscribers that get it). */
  fanFactor: number;
}

/** One publishing connection. */
export class BenchPublisher {
  /** Messages sent; also the next sequence number. */
  sent = 0;
  /** Messages sent but not acknowledged (QoS 1 and 2). */
  inflight = 0;
  private blocked = false;
  private readonly template: Buffer;
  private readonly payloadOffset: number;
  private readonly pidOffset: number;
  private readonly maxInflight: number;

  constructor(
    readonly conn: RawConnection,
    private readonly cfg: PublisherConfig,
    private readonly ctx: RunContext,
  ) {
    this.template = encode(
      {
        type: 'publish',
        topic: cfg.topic,
        payload: Buffer.alloc(cfg.payloadSize),
        qos: cfg.qos,
        retain: false,
        dup: false,
        packetId: cfg.qos > 0 ? 1 : undefined,
      },
      cfg.protocolVersion,
    );
    this.payloadOffset = this.template.length - cfg.payloadSize;
    this.pidOffset = cfg.qos > 0 ? publishPacketIdOffset(this.template) : -1;
    this.maxInflight = Math.min(cfg.window, conn.receiveMaximum, 65535);
    ctx.settled[cfg.index] = 0;
    conn.onPacket = (p) => this.handle(p);
    conn.afterChunk = () => ctx.schedulePump();
  }

  /** Messages sent and not yet settled by their deliveries. */
  get outstanding(): number {
    return this.sent - Math.floor(this.ctx.settled[this.cfg.index] / this.cfg.fanFactor);
  }

  /** True when nothing sent is still waiting for a delivery or an acknowledgement. */
  get idle(): boolean {
    return this.outstanding <= 0 && this.inflight === 0;
  }

  /** How many messages the window and the in-flight limit allow now. */
  allowance(): number {
    if (this.blocked || this.conn.closed) return 0;
    let n = this.cfg.window - this.outstanding;
    if (this.cfg.qos > 0) n = Math.min(n, this.maxInflight - this.inflight);
    return Math.max(0, Math.min(n, MAX_BATCH));
  }

  /** Sends up to `limit` messages (bounded by the allowance) in one write; returns how many. */
  pump(limit = MAX_BATCH): number {
    const n = Math.min(this.allowance(), limit);
    if (n === 0) return 0;
    const len = this.template.length;
    const buf = Buffer.allocUnsafe(n * len);
    const t = nowNs();
    const { qos, index } = this.cfg;
    for (let i = 0; i < n; i++) {
      const off = i * len;
      this.template.copy(buf, off);
      const seq = this.sent++;
      writeHeader(buf, off + this.payloadOffset, this.ctx.runTag, index, seq, t);
      if (qos > 0) buf.writeUInt16BE((seq % 65535) + 1, off + this.pidOffset);
    }
    if (qos > 0) this.inflight += n;
    this.ctx.sent += n;
    if (!this.conn.socket.write(buf)) {
      this.blocked = true;
      this.conn.socket.once('drain', () => {
        this.blocked = false;
        this.ctx.schedulePump();
      });
    }
    return n;
  }

  private handle(p: Packet): void {
    switch (p.type) {
      case 'puback':
      case 'pubcomp':
        this.inflight--;
        if ((p.reasonCode ?? 0) >= 0x80) this.ctx.errors++;
        break;
      case 'pubrec':
        if ((p.reasonCode ?? 0) >= 0x80) {
          // [MQTT-4.3.3] a failed PUBREC ends the QoS 2 exchange: no PUBREL follows.
          this.inflight--;
          this.ctx.errors++;
        } else this.conn.queueAck(ACK_BYTE.pubrel, p.packetId);
        break;
      case 'disconnect':
        this.ctx.errors++;
        break;
      default:
        break;
    }
  }
}
