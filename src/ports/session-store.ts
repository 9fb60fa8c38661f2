/**
 * The session port: what a persistent session is besides its messages. Its record (expiry,
 * owner), subscriptions, inbound QoS 2 packet ids and will. The registry reads one client's
 * session when it connects ({@link SessionStore.loadSession}); a broker that starts reads all
 * of them ({@link SessionStore.loadSessions}), so that offline sessions' subscriptions are
 * routed again.
 */
import type { StorePort } from './store-port.js';
import type {
  SessionOwner,
  StoredSessionRecord,
  StoredSubscription,
  StoredWill,
  WriteFence,
} from './store-records.js';

/** Sessions, subscriptions, inbound QoS 2 ids and wills. */
export interface SessionStore extends StorePort {
  putSession(clientId: string, expiryInterval: number, expiresAt: number | undefined): void;
  /**
   * Records the owner of the session `clientId` (put before); later `putSession` calls keep
   * it. No effect when there is no session record.
   */
  setSessionOwner(clientId: string, owner: SessionOwner): void;
  /**
   * Removes the session record with its subscriptions, inbound ids and will. Its queue and
   * inflight entries belong to the message port (`MessageStore.deleteQueue`). With `fence`,
   * only while the fence holds (WriteFence: a cluster node deleting again a session whose
   * deletion's batch failed, while it still owns the client).
   */
  deleteSession(clientId: string, fence?: WriteFence): void;
  putSubscription(clientId: string, subscription: StoredSubscription): void;
  deleteSubscription(clientId: string, filter: string): void;
  addInboundQos2(clientId: string, packetId: number): void;
  deleteInboundQos2(clientId: string, packetId: number): void;
  /** Stores the client's will; with `fence`, only while the fence holds (WriteFence). */
  putWill(clientId: string, will: StoredWill, fence?: WriteFence): void;
  deleteWill(clientId: string): void;

  /** Every session record (rows of client ids without a record are not sessions). */
  loadSessions(): Promise<StoredSessionRecord[]>;
  /** One client's session record, or undefined when it has none. */
  loadSession(clientId: string): Promise<StoredSessionRecord | undefined>;
  /** Every stored will, by client id (a will may outlive its session). */
  loadWills(): Promise<Map<string, StoredWill>>;
}
