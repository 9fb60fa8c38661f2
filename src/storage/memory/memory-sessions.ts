/** The session port in memory: session records, subscriptions, inbound QoS 2 ids and wills. */
import type {
  SessionOwner,
  StoredSessionRecord,
  StoredSubscription,
  StoredWill,
} from '../../ports/index.js';
import { copySubscription, copyWill } from '../shared/copy.js';

/** What is held for one client id (with or without a session record). */
interface ClientRecord {
  session:
    | { expiryInterval: number; expiresAt: number | undefined; owner: SessionOwner | undefined }
    | undefined;
  readonly subscriptions: Map<string, StoredSubscription>;
  readonly inboundQos2: Set<number>;
}

/** Sessions and wills held in maps (the memory store's session port). */
export class MemorySessions {
  private readonly clients = new Map<string, ClientRecord>();
  private readonly wills = new Map<string, StoredWill>();

  putSession(clientId: string, expiryInterval: number, expiresAt: number | undefined): void {
    const record = this.client(clientId);
    record.session = { expiryInterval, expiresAt, owner: record.session?.owner };
  }

  setSessionOwner(clientId: string, owner: SessionOwner): void {
    const session = this.clients.get(clientId)?.session;
    if (session !== undefined) session.owner = { username: owner.username };
  }

  deleteSession(clientId: string): void {
    this.wills.delete(clientId);
    this.clients.delete(clientId);
  }

  putSubscription(clientId: string, subscription: StoredSubscription): void {
    this.client(clientId).subscriptions.set(subscription.filter, copySubscription(subscription));
  }

  deleteSubscription(clientId: string, filter: string): void {
    this.clients.get(clientId)?.subscriptions.delete(filter);
  }

  addInboundQos2(clientId: string, packetId: number): void {
    this.client(clientId).inboundQos2.add(packetId);
  }

  deleteInboundQos2(clientId: string, packetId: number): void {
    this.clients.get(clientId)?.inboundQos2.delete(packetId);
  }

  putWill(clientId: string, will: StoredWill): void {
    this.wills.set(clientId, copyWill(will));
  }

  deleteWill(clientId: string): void {
    this.wills.delete(clientId);
  }

  async loadSessions(): Promise<StoredSessionRecord[]> {
    const sessions: StoredSessionRecord[] = [];
    for (const [clientId, record] of this.clients) {
      const stored = toStored(clientId, record);
      if (stored !== undefined) sessions.push(stored);
    }
    return sessions;
  }

  async loadSession(clientId: string): Promise<StoredSessionRecord | undefined> {
    const record = this.clients.get(clientId);
    return record === undefined ? undefined : toStored(clientId, record);
  }

  async loadWills(): Promise<Map<string, StoredWill>> {
    return new Map([...this.wills].map(([id, w]) => [id, copyWill(w)]));
  }

  private client(clientId: string): ClientRecord {
    let record = this.clients.get(clientId);
    if (record === undefined) {
      record = { session: undefined, subscriptions: new Map(), inboundQos2: new Set() };
      this.clients.set(clientId, record);
    }
    return record;
  }
}

/** The session as the port returns it; undefined without a session record. */
function toStored(clientId: string, record: ClientRecord): StoredSessionRecord | undefined {
  const session = record.session;
  if (session === undefined) return undefined;
  const out: StoredSessionRecord = {
    clientId,
    expiryInterval: session.expiryInterval,
    subscriptions: [...record.subscriptions.values()].map(copySubscription),
    inboundQos2: [...record.inboundQos2],
  };
  if (session.expiresAt !== undefined) out.expiresAt = session.expiresAt;
  if (session.owner !== undefined) out.owner = { username: session.owner.username };
  return out;
}
