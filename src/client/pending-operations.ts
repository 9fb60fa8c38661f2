/**
 * The client's requests that wait for an answer, by packet identifier: QoS 1/2 publishes
 * (until PUBACK / PUBCOMP, or a failing PUBREC) and subscribes / unsubscribes (until SUBACK /
 * UNSUBACK). Each holds its identifier until settled [MQTT-2.3.1-2].
 */
import { PacketIdAllocator } from './packet-ids.js';

type Settle<T> = { resolve: (value: T) => void; reject: (e: Error) => void };
type Pending =
  | ({ kind: 'publish' } & Settle<void>)
  | ({ kind: 'subscribe' | 'unsubscribe' } & Settle<number[]>);

/** Requests in flight on one connection. */
export class PendingOperations {
  private readonly ids = new PacketIdAllocator();
  private readonly pending = new Map<number, Pending>();

  /** A free packet identifier, reserved until `release` or settling. */
  allocate(): number {
    return this.ids.allocate();
  }

  /** True while a publish of this client waits under `packetId`. */
  waitsForPublish(packetId: number): boolean {
    return this.pending.get(packetId)?.kind === 'publish';
  }

  /** Frees an identifier that was allocated but never sent. */
  release(packetId: number): void {
    this.ids.release(packetId);
  }

  /** Waits for the acknowledgement of a QoS 1/2 publish. */
  addPublish(packetId: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.set(packetId, { kind: 'publish', resolve, reject });
    });
  }

  /** Waits for the SUBACK or UNSUBACK, resolving with its reason codes. */
  addRequest(kind: 'subscribe' | 'unsubscribe', packetId: number): Promise<number[]> {
    return new Promise((resolve, reject) => {
      this.pending.set(packetId, { kind, resolve, reject });
    });
  }

  /**
   * Ends the publish `packetId`: resolved, or rejected with `failure`. Returns false when no
   * publish waits under that identifier (a stray or repeated acknowledgement).
   */
  settlePublish(packetId: number, failure?: Error): boolean {
    const op = this.pending.get(packetId);
    if (op?.kind !== 'publish') return false;
    this.pending.delete(packetId);
    this.ids.release(packetId);
    if (failure) op.reject(failure);
    else op.resolve();
    return true;
  }

  /** Ends the subscribe or unsubscribe `packetId` with the server's reason codes. */
  settleRequest(packetId: number, kind: 'subscribe' | 'unsubscribe', codes: number[]): void {
    const op = this.pending.get(packetId);
    if (op?.kind !== kind) return;
    this.pending.delete(packetId);
    this.ids.release(packetId);
    op.resolve(codes);
  }

  /** Rejects everything still waiting (the connection is gone). */
  rejectAll(failure: Error): void {
    for (const op of this.pending.values()) op.reject(failure);
    this.pending.clear();
  }
}
