/**
 * Acknowledge after ownership, in order: the commit ordering of one connection's output when
 * the broker has a store.
 *
 * - An acknowledgement (PUBACK, PUBREC, PUBCOMP, SUBACK, UNSUBACK) goes out only once the
 *   store has made durable what the step that produced it wrote. Acknowledgements keep their
 *   order [MQTT-4.6.0-2] [MQTT-4.6.0-3]: once one waits for a commit, the following ones wait
 *   behind it, even those whose own step wrote nothing.
 * - [MQTT-4.3.3-9] A copy of a message published at QoS 2 goes onward only once the store has
 *   made durable what routing it wrote, its inbound packet id among it (the spec's "Method
 *   B": store the packet id, then initiate onward delivery). Sent before that commit, a crash
 *   in between would let the publisher's resend, unknown to the restarted broker, deliver it
 *   a second time. PUBLISH packets written after a held one wait behind it, so the order of
 *   deliveries on the connection stays as routed [MQTT-4.6.0-6]. The packet is encoded
 *   already: only the write waits, and its bytes count as unsent output meanwhile.
 *
 * - A publish's acknowledgement may wait for more than the store's commit: what a subscriber
 *   that holds the message in memory only asked it to wait for (ack-waits.ts). That wait is
 *   the publish's alone: the acknowledgements after it on the connection wait behind it (the
 *   order above), no other connection's, and no commit.
 *
 * When a commit fails (e.g. disk full) the acknowledgement is not sent: MQTT 5 gets the
 * failure reason code 0x97 instead, MQTT 3.x (which cannot express it) a closed connection,
 * so the client sends again after reconnecting. A held PUBLISH is written anyway: the store's
 * failure is reported to its publisher by the PUBREC, and the delivery is counted already.
 */
import type { Logger } from '../ports/index.js';
import type { Packet, ProtocolVersion } from '../protocol/index.js';
import { ReasonCode } from '../protocol/index.js';
import type { ClientInfo } from './client-info.js';
import type { Persistence } from './persistence.js';
import type { SessionRecord } from './session-record.js';
import { WriteRefused } from './write-refused.js';

/** The connection as the commit ordering writes to it. */
export interface CommitOrderedOutput {
  readonly closed: boolean;
  readonly version: ProtocolVersion | undefined;
  readonly client: ClientInfo;
  readonly session: SessionRecord | undefined;
  /** Encodes and writes a packet (within the client's Maximum Packet Size). */
  send(packet: Packet): void;
  /** Writes encoded bytes. */
  writeBytes(bytes: Buffer): void;
  /** Closes with a reason code (v5 DISCONNECT), without a will being discarded. */
  closeNow(reason: string, reasonCode: number): void;
  /** Ends the connection (no DISCONNECT). */
  finish(reason: { graceful: boolean; reasonCode: number | undefined; reason: string }): void;
}

/** The waits of one connection's acknowledgements and held PUBLISH packets. */
export class CommitOrder {
  /** Bytes of PUBLISH packets waiting for a commit (they count as unsent output). */
  heldBytes = 0;
  /** The last acknowledgement waiting for a commit, if any. */
  private ackTail: Promise<void> | undefined;
  /** The last PUBLISH waiting for a commit, if any: later ones queue behind it. */
  private publishTail: Promise<void> | undefined;

  constructor(
    private readonly out: CommitOrderedOutput,
    private readonly persistence: Persistence,
    private readonly logger: Logger,
  ) {}

  /** True while a PUBLISH waits for a commit: every later one must wait behind it. */
  get holdsPublishes(): boolean {
    return this.publishTail !== undefined;
  }

  /** Settles once the PUBLISH packets held for a commit are written; undefined if none are. */
  heldWrites(): Promise<void> | undefined {
    return this.publishTail;
  }

  /**
   * Sends `packet` once the store has made durable what the step that produced it wrote
   * (`mutationsBefore` is `persistence.mutations` taken before the step), and after every
   * acknowledgement before it. `after` runs right after the packet is sent. `wait`: what else
   * this acknowledgement waits for (a publish's, ack-waits.ts: only it and the ones after it
   * wait); when it rejects, the acknowledgement fails as for a failed commit. Returns what it
   * waits for of its own (the store's commit of its step's writes, and `wait`; rejects when
   * it fails), undefined when that is nothing.
   */
  ack(
    packet: Packet,
    mutationsBefore: number,
    after?: () => void,
    wait?: Promise<unknown>,
  ): Promise<unknown> | undefined {
    const wrote = this.persistence.mutations !== mutationsBefore;
    if (!wrote && wait === undefined && this.ackTail === undefined) {
      this.out.send(packet);
      after?.();
      return undefined;
    }
    const stored = wrote ? this.persistence.commit() : undefined;
    const commit: Promise<unknown> | undefined =
      wait === undefined ? stored : stored === undefined ? wait : Promise.all([stored, wait]);
    commit?.catch(() => {}); // handled in the chain below, once the earlier acks are out
    // Behind the acknowledgements before it, if any, then its own commit, if it wrote (one of
    // the two at least, or it went out above). As few promises as that takes: in a cluster
    // every QoS 1 publish forwarded to another node comes here, 10k times a second.
    const tail = this.ackTail;
    const ready =
      tail === undefined ? commit! : commit === undefined ? tail : tail.then(() => commit);
    const done = (): void => {
      if (this.ackTail === next) this.ackTail = undefined;
    };
    const next: Promise<void> = ready.then(
      () => {
        try {
          this.out.send(packet);
          after?.();
        } finally {
          done();
        }
      },
      (err: unknown) => {
        try {
          this.notDurable(packet, err);
        } finally {
          done();
        }
      },
    );
    this.ackTail = next;
    return commit;
  }

  /**
   * Writes `bytes` (an encoded PUBLISH) once the store has committed what was written before
   * this call, and after every PUBLISH held before it [MQTT-4.3.3-9] [MQTT-4.6.0-6].
   */
  writeAfterCommit(bytes: Buffer): void {
    // After the turn: the PUBREC's step stores the inbound id after routing (persistence.ts).
    const commit = this.persistence.commitAfterTurn();
    this.heldBytes += bytes.length;
    const next: Promise<void> = (this.publishTail ?? Promise.resolve())
      .then(() => commit)
      .then(() => {
        this.heldBytes -= bytes.length;
        if (!this.out.closed) this.out.writeBytes(bytes);
        if (this.publishTail === next) this.publishTail = undefined;
      });
    this.publishTail = next;
  }

  /**
   * The store could not make a step durable (e.g. disk full): MQTT 5 gets the failure reason
   * code 0x97 in the acknowledgement; MQTT 3.x cannot express it, so the connection closes
   * and the client sends again after reconnecting.
   */
  private notDurable(packet: Packet, err: unknown): void {
    const out = this.out;
    // A refusal with a known reason (a cluster forward to a node that left) says so.
    const reason = err instanceof WriteRefused ? err.reason : 'store write failed';
    this.logger.error(
      { err, clientId: out.client.clientId, packet: packet.type },
      `${reason}: not acknowledging`,
    );
    if (out.closed) return;
    if (packet.type === 'pubrec') out.session?.releaseInboundQos2(packet.packetId);
    if (out.version !== 5) {
      out.finish({
        graceful: false,
        reasonCode: ReasonCode.QuotaExceeded,
        reason,
      });
      return;
    }
    switch (packet.type) {
      case 'puback':
      case 'pubrec':
        out.send({ ...packet, reasonCode: ReasonCode.QuotaExceeded });
        return;
      case 'suback':
        out.send({
          ...packet,
          reasonCode: undefined,
          reasonCodes: packet.reasonCodes.map(() => ReasonCode.UnspecifiedError),
        } as Packet);
        return;
      default:
        out.closeNow(reason, ReasonCode.UnspecifiedError);
    }
  }
}
