/** The session port of the SQLite store: sessions, subscriptions, inbound QoS 2 ids and wills. */
import type {
  SessionOwner,
  StoredSessionRecord,
  StoredSubscription,
  StoredWill,
} from '../../ports/index.js';
import { loadSessionRecord, loadSessionRecords, loadWillRows } from './load-sessions.js';
import { explain } from './open-database.js';
import { subscriptionParams, willParams } from './rows.js';
import type { SqliteContext } from './sqlite-context.js';

/** Session records and what belongs to them, in the store's current batch. */
export class SqliteSessions {
  constructor(private readonly ctx: SqliteContext) {}

  putSession(clientId: string, expiryInterval: number, expiresAt: number | undefined): void {
    const { stm, batcher } = this.ctx.conn();
    batcher.run(() => stm.putSession.run(clientId, expiryInterval, expiresAt ?? null));
  }

  setSessionOwner(clientId: string, owner: SessionOwner): void {
    const { stm, batcher } = this.ctx.conn();
    batcher.run(() => stm.setSessionOwner.run(owner.username, clientId));
  }

  deleteSession(clientId: string): void {
    const { stm, batcher } = this.ctx.conn();
    batcher.run(() => {
      stm.deleteSession.run(clientId);
      stm.deleteSubscriptions.run(clientId);
      stm.deleteAllInbound.run(clientId);
      stm.deleteWill.run(clientId);
    });
  }

  putSubscription(clientId: string, s: StoredSubscription): void {
    const { stm, batcher } = this.ctx.conn();
    batcher.run(() => stm.putSubscription.run(clientId, ...subscriptionParams(s)));
  }

  deleteSubscription(clientId: string, filter: string): void {
    const { stm, batcher } = this.ctx.conn();
    batcher.run(() => stm.deleteSubscription.run(clientId, filter));
  }

  addInboundQos2(clientId: string, packetId: number): void {
    const { stm, batcher } = this.ctx.conn();
    batcher.run(() => stm.addInbound.run(clientId, packetId));
  }

  deleteInboundQos2(clientId: string, packetId: number): void {
    const { stm, batcher } = this.ctx.conn();
    batcher.run(() => stm.deleteInbound.run(clientId, packetId));
  }

  putWill(clientId: string, will: StoredWill): void {
    const { stm, batcher } = this.ctx.conn();
    batcher.run(() => stm.putWill.run(clientId, ...willParams(will)));
  }

  deleteWill(clientId: string): void {
    const { stm, batcher } = this.ctx.conn();
    batcher.run(() => stm.deleteWill.run(clientId));
  }

  async loadSessions(): Promise<StoredSessionRecord[]> {
    return this.read(() => loadSessionRecords(this.ctx.conn().stm));
  }

  async loadSession(clientId: string): Promise<StoredSessionRecord | undefined> {
    return this.read(() => loadSessionRecord(this.ctx.conn().stm, clientId));
  }

  async loadWills(): Promise<Map<string, StoredWill>> {
    return this.read(() => loadWillRows(this.ctx.conn().stm));
  }

  /** Runs a read; a database error names the file and what to do. */
  private read<T>(body: () => T): T {
    try {
      return body();
    } catch (err) {
      throw explain(err, this.ctx.file);
    }
  }
}
