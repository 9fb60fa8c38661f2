/**
 * The outbound QoS 1/2 messages of one session: sent and not yet completed, by packet id in
 * send order, with the packet ids they hold [MQTT-2.2.1-3] and the resend order after a
 * reconnect [MQTT-4.4.0-1] [MQTT-4.6.0-1]. Every change is written to the session's store
 * when it has one.
 */
import type { DeliveryOutput } from './delivery-output.js';
import { InflightTable } from './inflight-table.js';
import type { Delivery } from './message.js';

/**
 * What the window writes to the store (Persistence implements it; named here so that the
 * store's side, which stores InflightEntry, and this file do not import each other).
 */
export interface InflightStore {
  putInflight(clientId: string, entry: InflightEntry): void;
  deleteInflight(clientId: string, packetId: number): void;
  /** Resolves once what was written before is durable. */
  commit(): Promise<void>;
}

/** The session an inflight window belongs to, as the window sees it. */
export interface InflightOwner {
  readonly clientId: string;
  /** Where its changes are written (a persistent session with a store). */
  readonly persistence: InflightStore | undefined;
  /** Its live output, if connected. */
  readonly output: DeliveryOutput | undefined;
}

/** State of one outbound QoS 1/2 message. */
export interface InflightEntry {
  readonly packetId: number;
  readonly delivery: Delivery;
  /** 'publish': PUBLISH sent, awaiting PUBACK/PUBREC; 'pubrel': PUBREL sent, awaiting PUBCOMP. */
  state: 'publish' | 'pubrel';
  /** Not yet resent on the current connection: its Receive Maximum was full at resume. */
  awaitingResend?: boolean;
}

/** Inflight entries of one session (made on its first QoS 1/2 delivery). */
export class InflightWindow {
  private readonly entries = new InflightTable<InflightEntry>();
  private nextPacketId = 1;
  /** Entries marked awaitingResend. */
  private awaiting = 0;

  constructor(private readonly owner: InflightOwner) {}

  /** Entries in flight. */
  get size(): number {
    return this.entries.size;
  }

  get(packetId: number): InflightEntry | undefined {
    return this.entries.get(packetId);
  }

  /** Entries in send order. */
  values(): IterableIterator<InflightEntry> {
    return this.entries.values();
  }

  /** The entries by packet id, read-only (for inspection). */
  asMap(): ReadonlyMap<number, InflightEntry> {
    return this.entries;
  }

  /** Records `delivery` as sent under a packet id no other entry holds [MQTT-2.2.1-3]. */
  open(delivery: Delivery): InflightEntry {
    const entries = this.entries;
    let id = this.nextPacketId;
    while (entries.has(id)) id = id === 65535 ? 1 : id + 1;
    this.nextPacketId = id === 65535 ? 1 : id + 1;
    const entry: InflightEntry = { packetId: id, delivery, state: 'publish' };
    entries.add(entry);
    this.owner.persistence?.putInflight(this.owner.clientId, entry);
    return entry;
  }

  /** PUBREC received for `entry`: it waits for PUBCOMP now (written to the store). */
  released(entry: InflightEntry): void {
    entry.state = 'pubrel';
    this.owner.persistence?.putInflight(this.owner.clientId, entry);
  }

  /** Puts back an entry read from the store (resent on the next attach). */
  restore(entry: InflightEntry): void {
    this.entries.delete(entry.packetId);
    this.entries.add(entry);
  }

  /** Ends the exchange of `entry` (an entry of this window). */
  end(entry: InflightEntry): void {
    if (entry.awaitingResend) {
      entry.awaitingResend = false;
      this.awaiting--;
    }
    this.entries.delete(entry.packetId);
    this.owner.persistence?.deleteInflight(this.owner.clientId, entry.packetId);
  }

  /** Writes every entry (the session became persistent). */
  persistAll(persistence: InflightStore): void {
    for (const entry of this.entries.values()) persistence.putInflight(this.owner.clientId, entry);
  }

  /**
   * Removes and returns the deliveries that came through shared subscriptions and whose
   * PUBLISH was sent but not acknowledged, for another member of the group.
   */
  takeShared(taken: Delivery[]): void {
    for (const entry of this.entries.values()) {
      if (entry.state === 'publish' && entry.delivery.shareFilter !== undefined) {
        this.end(entry);
        taken.push(entry.delivery);
      }
    }
  }

  /**
   * Runs `send` once the store has committed what was written for `entry` (at once without
   * a store), unless the entry moved on or another connection took over meanwhile (attach
   * then resends it). A failed commit still sends: the store's failure is logged and
   * holding the message back would only stall the client.
   */
  whenDurable(out: DeliveryOutput, entry: InflightEntry, send: () => void): void {
    const persistence = this.owner.persistence;
    if (!persistence) {
      send();
      return;
    }
    const state = entry.state;
    const go = (): void => {
      if (this.owner.output !== out || this.entries.get(entry.packetId) !== entry) return;
      if (entry.state !== state || entry.awaitingResend) return;
      send();
    };
    persistence.commit().then(go, go);
  }

  /** A new connection: every entry is to be resent on it, in order. */
  markAllForResend(): void {
    for (const entry of this.entries.values()) entry.awaitingResend = true;
    this.awaiting = this.entries.size;
  }

  /**
   * Resends the entries awaiting it, in order, while `out`'s window has room and it is not
   * congested: PUBLISH with DUP set, or PUBREL [MQTT-4.4.0-1]. An entry whose PUBLISH cannot
   * be sent (larger than the client's maximum) is ended.
   */
  resendWaiting(out: DeliveryOutput): void {
    if (this.awaiting === 0) return;
    let active = this.entries.size - this.awaiting;
    for (const entry of this.entries.values()) {
      if (active >= out.sendWindow || this.awaiting === 0 || out.isCongested()) break;
      if (!entry.awaitingResend) continue;
      entry.awaitingResend = false;
      this.awaiting--;
      active++;
      if (entry.state === 'pubrel') out.sendPubrel(entry.packetId);
      else if (!out.sendPublish(entry.delivery, entry.packetId, true)) {
        this.end(entry);
        active--;
      }
    }
  }
}
