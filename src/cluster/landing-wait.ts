/**
 * The acknowledgements a stand-in holds (issue #11: nothing acknowledged is lost when a node
 * dies). A stand-in (session-arrival.ts) keeps what it gets in memory until its session is
 * read here. What it parks from this node's inbox is covered by the parked cursor
 * (parked-position.ts); a client's QoS 1/2 message published on this node itself has no inbox
 * entry, and once the old node let go the stand-in holds its only copy: acknowledged at once,
 * it was lost if this node was killed before the session landed.
 *
 * So such a publish's PUBACK/PUBREC waits for the stand-in's landing (the core's per-publish
 * wait, src/core/ack-waits.ts): until the session landed and the store committed what the
 * landing delivered (the session's queue holds the message), or the move did not happen (the
 * old node kept the session routed, so the message was forwarded to it as well, and the
 * acknowledgement waits for that forward's write as for any). A landing that failed refuses
 * the publish (0x97, or a closed connection for MQTT 3.x): the publisher sends it again.
 *
 * Only the acknowledgements of the publishes the stand-in parked wait (and those after them
 * on their connections, to keep the order); the store's commits, every other publish and the
 * control steps asked of this node do not. The wait is bounded by the move's: its release
 * answer, three leases at most.
 */
import { WriteRefused } from '../core/index.js';

/** One stand-in's landing, as the acknowledgements of the publishes it parked see it. */
export class LandingWait {
  /** Settles once the landing did (rejects when it failed). */
  readonly promise: Promise<void>;
  private settleWith!: (written: Promise<void>) => void;
  private settled = false;

  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.settleWith = (written) => written.then(resolve, reject);
    });
    this.promise.catch(() => {}); // reported by the acknowledgements that wait for it
  }

  /** The landing delivered what was parked: the acknowledgements go once `written` settles. */
  landed(written: Promise<void>): void {
    this.settle(written);
  }

  /** The move did not happen: the old node kept the session, routed (see the file comment). */
  abandoned(): void {
    this.settle(Promise.resolve());
  }

  /** The session is here but what was parked did not reach it: the publishes are refused. */
  failed(err: unknown): void {
    const reason = 'the session moving in could not take the message';
    const message = err instanceof Error ? err.message : String(err);
    this.settle(Promise.reject(new WriteRefused(reason, message)));
  }

  /** The first outcome counts (a landing that went on after a failure changes nothing). */
  private settle(written: Promise<void>): void {
    if (this.settled) return;
    this.settled = true;
    this.settleWith(written);
  }
}
