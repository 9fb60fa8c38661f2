/**
 * Waits of one publish's acknowledgement besides the store's commit: the seam through which a
 * subscriber outside the core (a cluster's stand-in for a session moving in, which keeps what
 * it gets in memory until its session is read) makes the PUBACK/PUBREC of the client's
 * publish it took wait until that message is safe, without making anything else wait.
 *
 * The store's commit (Persistence.commit, with its participants) is the node's: every
 * acknowledgement that wrote, and the cluster's own control steps, wait for it. A wait that
 * may last as long as a session move (up to three leases) cannot join it: two nodes moving
 * sessions to each other would each hold the other's control steps, and every
 * acknowledgement on the node would stall meanwhile. So a wait is tied to the publish step
 * it belongs to: the pipeline marks the client's message being routed (routing is
 * synchronous), a subscriber adds its wait while it gets the message, and the publish flow
 * takes it for that message's acknowledgement (commit-order.ts keeps the acknowledgements of
 * the connection in order behind it). Nothing is allocated while no subscriber adds a wait.
 * A message a hook publishes while another is fanned out is routed within that fan-out
 * (router.ts): a wait it gets joins the outer publish's acknowledgement (more waiting, never
 * less).
 *
 * A QoS 2 PUBLISH sent again (a reconnect) before its PUBREC went out is not routed again:
 * its PUBREC waits for what the first one waits for, the store's commit and this wait, and
 * fails with it (SessionRecord.awaitInboundQos2, publish-flow.ts).
 */
import type { Message } from './message.js';

/** The per-publish waits of acknowledgements (see the file comment). */
export class AckWaits {
  /** The client's message being routed now (its publish will be acknowledged), if any. */
  private routing: Message | undefined;
  /** Waits added, by the message of the publish whose acknowledgement takes them. */
  private readonly waits = new Map<Message, Promise<void>>();

  /**
   * Called by a subscriber while it gets a message: the acknowledgement of the client's
   * publish being routed waits for `wait` too (it rejects: the publish is refused, 0x97 or a
   * closed connection, as for a store write that failed). False when no acknowledgement waits
   * for this routing (a will, the host application's or the broker's own message, one another
   * node forwarded): nothing waits for `wait` then.
   */
  hold(wait: Promise<void>): boolean {
    const step = this.routing;
    if (step === undefined) return false;
    const before = this.waits.get(step);
    const all = before === undefined ? wait : Promise.all([before, wait]).then(() => {});
    this.waits.set(step, all);
    // Taken by the publish flow right after routing; a caller that does not take it (a
    // bridge's inbound message: nothing acknowledged waits for it) leaves it until it settles.
    const drop = (): void => {
      if (this.waits.get(step) === all) this.waits.delete(step);
    };
    all.then(drop, drop);
    return true;
  }

  /**
   * Marks `step` as the client's message being routed until {@link end}; returns what to
   * give {@link end} (a hook may route a message while another is routed).
   */
  begin(step: Message | undefined): Message | undefined {
    const outer = this.routing;
    this.routing = step;
    return outer;
  }

  /** Routing of the message {@link begin} marked is done (`outer`: what it returned). */
  end(outer: Message | undefined): void {
    this.routing = outer;
  }

  /** What the acknowledgement of `step`'s publish waits for besides the commit (taken once). */
  take(step: Message): Promise<void> | undefined {
    if (this.waits.size === 0) return undefined;
    const wait = this.waits.get(step);
    if (wait !== undefined) this.waits.delete(step);
    return wait;
  }
}
