/**
 * Forwarded batches numbered by their sender, so that a batch Redis received twice is
 * delivered once ([MQTT-4.3.3-2] (3.1.1) [MQTT-4.3.3-10] (5.0): no duplicate to onward
 * recipients of a QoS 2 message; and QoS 0 stays at most once).
 *
 * Why a batch can come twice: the outbox's connection resends what was unanswered when it
 * dropped (ioredis's `autoResendUnfulfilledCommands`, kept on purpose: a forward whose
 * connection dropped reaches the new master after a failover). When Redis ran the XADD (or the
 * PUBLISH on a QoS 0 channel) and the connection broke before its reply came (a master killed
 * right after its write, a network cut), the command runs again after the reconnection: the
 * batch is then twice in the inbox stream, or pushed twice to the QoS 0 subscriber.
 *
 * How it is told: each outbox numbers its batches (one counter for all its destinations, so
 * increasing per destination too), with a sender id drawn at random per outbox (per process:
 * a node restarted under the same node id is another sender, whose numbers start again). A
 * resend is written on the same connection as its original, after it, and before anything
 * sent after the reconnection (ioredis resends first what was unanswered, in order, then the
 * commands queued meanwhile): so it always comes after its original in the same stream (or
 * on the same channel), and a receiver skips an entry whose number is not above the highest
 * it delivered from that sender. The cost is one 17-byte prefix and one map look-up per
 * batch, never per message.
 *
 *   numbered batch: u8 NUMBERED, u64 sender id, f64 number, then the batch (envelope.ts)
 *
 * A batch without the prefix (a node of an earlier version) is delivered as before. An
 * earlier node cannot read a numbered one (upgrade all nodes of a cluster together, as the
 * flat batch format already asks). Session-move markers (field `b`) are not numbered: a
 * resent marker only tells its route barrier again what it knows (route-barrier.ts adds the
 * node to a set).
 */
import { randomBytes } from 'node:crypto';

/** The first byte of a numbered batch (a batch itself starts with FORMAT 0x01, or 0xFF: V8). */
export const NUMBERED = 0x02;
/** The bytes of the prefix: the tag, the sender id, the number. */
export const NUMBER_BYTES = 1 + 8 + 8;

/** The numbers of one outbox's batches. */
export class BatchNumbers {
  private readonly sender = randomBytes(8);
  private last = 0;

  /**
   * Writes the next number in the NUMBER_BYTES before `buffer[start]` (the headroom of a
   * batch: batch-builder.ts) and returns where the numbered batch starts.
   */
  stamp(buffer: Buffer, start: number): number {
    const at = start - NUMBER_BYTES;
    if (at < 0) throw new RangeError('no room for the batch number');
    buffer[at] = NUMBERED;
    this.sender.copy(buffer, at + 1);
    buffer.writeDoubleLE(++this.last, at + 9);
    return at;
  }
}

/**
 * What one reader delivered of each sender: skips a batch read again (a resend). One per
 * stream or channel read in order (an inbox, a QoS 0 channel, a dead node's inbox read by
 * a survivor). A sender's entry stays for the reader's life (one per instance of a peer).
 */
export class ResentBatches {
  private readonly highest = new Map<bigint, number>();

  /**
   * The batch in `data` (without its number), or undefined when it is a resend of a batch
   * of the same sender this reader saw already. A batch without a number is returned as it is.
   * @throws Error when the number is truncated.
   */
  fresh(data: Buffer): Buffer | undefined {
    if (data[0] !== NUMBERED) return data;
    if (data.length < NUMBER_BYTES) throw new Error('numbered batch: truncated');
    const sender = data.readBigUInt64LE(1);
    const number = data.readDoubleLE(9);
    const highest = this.highest.get(sender);
    if (highest !== undefined && number <= highest) return undefined;
    this.highest.set(sender, number);
    return data.subarray(NUMBER_BYTES);
  }
}
