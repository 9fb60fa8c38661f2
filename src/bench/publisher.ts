/**
 * A bench publisher: one PUBLISH encoded once, copied and patched (sequence, timestamp,
 * packet id) for every message, sent in batches within a window of unsettled messages.
 *
 * The copies live in a ring of `window` encoded messages made once: message `seq` is
 * patched in slot `seq % window` and written from there, so a message costs a patch of a
 * few header bytes, not an allocation and a copy of its payload (with 4 KiB payloads the
 * copy and the allocation were a tenth of the generator's CPU). A slot is reused only
 * once its previous message has been delivered, so the kernel has long taken its bytes.
 */
import { encode, publishPacketIdOffset } from '../protocol/index.js';
import type { Packet, QoS } from '../protocol/packets.js';
import type { RunContext } from './context.js';
import { nowNs, writeHeader } from './payload.js';
import { ACK_BYTE, type RawConnection } from './raw-connection.js';

/** Most messages written in one batch. */
const MAX_BATCH = 256;

/**
 * Largest ring of encoded messages a publisher keeps; a larger window copies per batch.
 * 8 MiB holds a window of 100 messages of 64 KiB (the fanin-64k comparison scenario).
 */
const MAX_RING_BYTES = 8 * 1024 * 1024;

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
  /** Least messages per write (the `batch` option); 1 writes as soon as one is allowed. */
  batch: number;
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
  /** Messages per write come in multiples of this: `batch` capped by what can be in flight. */
  readonly batch: number;
  /** Slots in the ring: the window rounded up to a multiple of `batch`. */
  private readonly slots: number;
  /** `slots` copies of the template, or undefined when they would take too much memory. */
  private readonly ring: Buffer | undefined;

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
    const most = cfg.qos > 0 ? this.maxInflight : cfg.window;
    this.batch = Math.max(1, Math.min(cfg.batch, most, MAX_BATCH));
    // Writes of whole batches starting at slot 0 never straddle the ring's end, so every
    // write carries a multiple of `batch`. More slots than the window stay safe: a slot is
    // reused later still, after its message has been delivered.
    this.slots = Math.ceil(cfg.window / this.batch) * this.batch;
    this.ring = makeRing(this.template, this.slots);
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

  /**
   * Sends up to `limit` messages (bounded by the allowance, in whole batches) in one write;
   * returns how many.
   */
  pump(limit = MAX_BATCH): number {
    let n = Math.min(this.allowance(), limit);
    if (this.batch > 1) n -= n % this.batch;
    if (n === 0) return 0;
    const t = nowNs();
    let flowing: boolean;
    if (this.ring === undefined) {
      const buf = Buffer.allocUnsafe(n * this.template.length);
      for (let i = 0; i < n; i++) this.template.copy(buf, i * this.template.length);
      this.patch(buf, 0, n, t);
      this.ctx.countWrite(n);
      flowing = this.conn.socket.write(buf);
    } else {
      // The window guarantees the n slots from `sent` hold delivered messages only; a batch
      // that wraps past the ring's end goes out as two writes (each of whole batches).
      const slots = this.slots;
      const first = this.sent % slots;
      const head = Math.min(n, slots - first);
      flowing = this.writeSlots(first, head, t);
      if (head < n) flowing = this.writeSlots(0, n - head, t) && flowing;
    }
    if (this.cfg.qos > 0) this.inflight += n;
    this.ctx.sent += n;
    if (!flowing) {
      this.blocked = true;
      this.conn.socket.once('drain', () => {
        this.blocked = false;
        this.ctx.schedulePump();
      });
    }
    return n;
  }

  /** Patches and writes `count` ring slots from `slot`; false when the socket is full. */
  private writeSlots(slot: number, count: number, t: number): boolean {
    const len = this.template.length;
    const ring = this.ring!;
    this.patch(ring, slot * len, count, t);
    this.ctx.countWrite(count);
    return this.conn.socket.write(ring.subarray(slot * len, (slot + count) * len));
  }

  /** Writes the next `count` sequence numbers (and packet ids) into consecutive messages. */
  private patch(buf: Buffer, start: number, count: number, t: number): void {
    const len = this.template.length;
    const { qos, index } = this.cfg;
    for (let i = 0; i < count; i++) {
      const off = start + i * len;
      const seq = this.sent++;
      writeHeader(buf, off + this.payloadOffset, this.ctx.runTag, index, seq, t);
      if (qos > 0) buf.writeUInt16BE((seq % 65535) + 1, off + this.pidOffset);
    }
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

/** `slots` copies of `template` back to back, or undefined past {@link MAX_RING_BYTES}. */
function makeRing(template: Buffer, slots: number): Buffer | undefined {
  if (slots * template.length > MAX_RING_BYTES) return undefined;
  const ring = Buffer.allocUnsafeSlow(slots * template.length);
  for (let i = 0; i < slots; i++) template.copy(ring, i * template.length);
  return ring;
}
