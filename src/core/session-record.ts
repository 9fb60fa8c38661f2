/**
 * What a session is and holds apart from the messages on their way to it: its client id and
 * owner, its expiry, its subscriptions, the inbound QoS 2 ids it has acknowledged, and the
 * store it writes to when it outlives its connection. SessionQueue (session-queue.ts) adds
 * the queue of waiting deliveries, Session (session.ts) the rest of the messages: delivery,
 * inflight window and retained backlog.
 */
import type { SessionOwner, StoredWill } from '../ports/index.js';
import type { Persistence } from './persistence.js';
import type { Subscription } from './subscription.js';

/** The bookkeeping part of a session. */
export class SessionRecord {
  readonly clientId: string;
  /** Who the session belongs to (session-owner.ts); undefined: not bound yet. */
  owner: SessionOwner | undefined;
  /** Session Expiry Interval in seconds (0: ends with the connection; 0xFFFFFFFF: never). */
  expiryInterval = 0;
  /** Set for persistent sessions when the broker has a store: every change is written. */
  persistence: Persistence | undefined;
  /**
   * The will the store holds for the connection now serving the session (written at CONNACK,
   * deleted when the client discards it), for session-resync.ts to write again.
   */
  connectionWill: StoredWill | undefined;
  // Created on first use: an idle session holds neither.
  private subs: Map<string, Subscription> | undefined;
  private inboundIds: Set<number> | undefined;
  /** Inbound QoS 2 ids whose first PUBREC still waits, with what it waits for. */
  private inboundWaits: Map<number, Promise<unknown>> | undefined;

  constructor(clientId: string) {
    this.clientId = clientId;
  }

  /** Subscriptions by filter as subscribed. */
  get subscriptions(): Map<string, Subscription> {
    this.subs ??= new Map();
    return this.subs;
  }

  /** Number of subscriptions (without creating the map). */
  get subscriptionCount(): number {
    return this.subs?.size ?? 0;
  }

  /** Inbound QoS 2 packet ids received (PUBREC sent) and not yet released [MQTT-4.3.3-9]. */
  get inboundQos2(): Set<number> {
    this.inboundIds ??= new Set();
    return this.inboundIds;
  }

  /** Records an inbound QoS 2 packet id until its PUBREL [MQTT-4.3.3-9]. */
  addInboundQos2(packetId: number): void {
    this.inboundQos2.add(packetId);
    this.persistence?.addInboundQos2(this.clientId, packetId);
  }

  /**
   * The first PUBREC of inbound id `packetId` waits for `wait` (the store's commit of its
   * step, what a subscriber holding the message in memory asked: ack-waits.ts; it rejects
   * when that fails); a resend of that PUBLISH waits for it too ({@link inboundQos2Wait})
   * until it settles.
   */
  awaitInboundQos2(packetId: number, wait: Promise<unknown>): void {
    const waits = (this.inboundWaits ??= new Map());
    waits.set(packetId, wait);
    const settled = (): void => {
      if (waits.get(packetId) === wait) waits.delete(packetId);
    };
    wait.then(settled, settled);
  }

  /** What the first PUBREC of inbound id `packetId` still waits for, if anything. */
  inboundQos2Wait(packetId: number): Promise<unknown> | undefined {
    return this.inboundWaits?.get(packetId);
  }

  /** PUBREL released an inbound QoS 2 id; false when it was not known. */
  releaseInboundQos2(packetId: number): boolean {
    if (!this.inboundIds?.delete(packetId)) return false;
    this.persistence?.deleteInboundQos2(this.clientId, packetId);
    return true;
  }

  /** Ends the session's persistence (the broker deletes its stored state). */
  forget(): void {
    this.persistence = undefined;
  }

  /** Writes the inbound QoS 2 ids held so far (the session became persistent). */
  protected persistInboundQos2(persistence: Persistence): void {
    if (!this.inboundIds) return;
    for (const id of this.inboundIds) persistence.addInboundQos2(this.clientId, id);
  }
}
