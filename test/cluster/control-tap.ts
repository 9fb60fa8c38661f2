/**
 * A window on the control channel of a cluster node in this process: every message it reads
 * is kept (parsed), and those a predicate picks can be held back and handed on later. A
 * session move's answer held back stands for the death of the node that sent it, right after
 * it acted and before its answer got out (the window no kill can hit on purpose); handing it
 * on later stands for a slow peer.
 */
import type { TestNode } from './cluster-nodes.js';

/** What the tap keeps of a control message (its JSON fields). */
export type TappedControl = { t?: unknown; clientId?: unknown; req?: unknown };

/** Taps `node`'s control channel (see the file comment). */
export class ControlTap {
  /** Every control message the node read, in order. */
  readonly seen: TappedControl[] = [];
  /** Held back, not yet handed on. */
  readonly held: string[] = [];
  private holdBack: ((message: TappedControl) => boolean) | undefined;
  private readonly deliver: (text: string) => void;

  constructor(node: TestNode) {
    // The node's handler of its control channel (ClusterNode -> ClientOwnership.onControl).
    const cluster = node.broker.cluster as unknown as {
      parts: { ownership: { onControl(text: string): void } };
    };
    const ownership = cluster.parts.ownership;
    this.deliver = ownership.onControl.bind(ownership);
    ownership.onControl = (text: string) => {
      let message: TappedControl = {};
      try {
        message = JSON.parse(text) as TappedControl;
      } catch {
        // Not JSON: the node counts it as malformed.
      }
      this.seen.push(message);
      if (this.holdBack?.(message)) this.held.push(text);
      else this.deliver(text);
    };
  }

  /** From now on, messages `predicate` picks are held back. */
  hold(predicate: (message: TappedControl) => boolean): void {
    this.holdBack = predicate;
  }

  /** Holds nothing back any more; `handOn`: the held messages reach the node now (else dropped). */
  stopHolding(handOn: boolean): void {
    this.holdBack = undefined;
    for (const text of this.held.splice(0)) if (handOn) this.deliver(text);
  }

  /** True once a message of type `t` about `clientId` was read. */
  saw(t: string, clientId: string): boolean {
    return this.seen.some((m) => m.t === t && m.clientId === clientId);
  }
}
