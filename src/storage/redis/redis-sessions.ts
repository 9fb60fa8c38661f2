/**
 * The session port of the Redis store: session records, subscriptions, inbound QoS 2 ids
 * (one client's keys, one slot) and wills (one hash by client id), in the current batch.
 */
import type {
  SessionOwner,
  StoredSessionRecord,
  StoredSubscription,
  StoredWill,
  WriteFence,
} from '../../ports/index.js';
import { decodeSubscription, decodeWill, encodeSubscription, encodeWill } from './redis-codec.js';
import type { RedisContext } from './redis-context.js';

/** How many clients' sessions are read per round trip at start. */
const LOAD_PAGE = 200;

/** Session records and what belongs to them. */
export class RedisSessions {
  constructor(private readonly ctx: RedisContext) {}

  putSession(clientId: string, expiryInterval: number, expiresAt: number | undefined): void {
    const { batcher } = this.ctx.conn();
    const k = this.ctx.keys.client(clientId);
    if (expiresAt === undefined) {
      batcher.add({ name: 'hset', args: [k.session, 'e', expiryInterval] });
      batcher.add({ name: 'hdel', args: [k.session, 'x'] });
    } else {
      batcher.add({ name: 'hset', args: [k.session, 'e', expiryInterval, 'x', expiresAt] });
    }
    batcher.add({ name: 'sadd', args: [this.ctx.keys.sessions, clientId] });
  }

  setSessionOwner(clientId: string, owner: SessionOwner): void {
    const k = this.ctx.keys.client(clientId);
    const named = owner.username !== null;
    this.ctx.conn().batcher.add({
      name: 'pipitSetOwner',
      args: [k.session, named ? '1' : '0', owner.username ?? ''],
    });
  }

  /**
   * With `fence`: one script that deletes only while the fence holds (left out when the
   * fence key is beyond the batch's reach: WriteFence).
   */
  deleteSession(clientId: string, fence?: WriteFence): void {
    const { batcher } = this.ctx.conn();
    const { keys } = this.ctx;
    const k = keys.client(clientId);
    if (fence !== undefined) {
      if (!keys.reaches(fence.key)) return;
      const named = [fence.key, k.session, k.subscriptions, k.inbound, keys.sessions, keys.wills];
      batcher.add({ name: 'pipitDeleteSessionIf', args: [...named, fence.value, clientId] });
      return;
    }
    batcher.add({ name: 'del', args: [k.session, k.subscriptions, k.inbound] });
    batcher.add({ name: 'srem', args: [this.ctx.keys.sessions, clientId] });
    batcher.add({ name: 'hdel', args: [this.ctx.keys.wills, clientId] });
  }

  putSubscription(clientId: string, s: StoredSubscription): void {
    const k = this.ctx.keys.client(clientId);
    this.ctx
      .conn()
      .batcher.add({ name: 'hset', args: [k.subscriptions, s.filter, encodeSubscription(s)] });
  }

  deleteSubscription(clientId: string, filter: string): void {
    const k = this.ctx.keys.client(clientId);
    this.ctx.conn().batcher.add({ name: 'hdel', args: [k.subscriptions, filter] });
  }

  addInboundQos2(clientId: string, packetId: number): void {
    const k = this.ctx.keys.client(clientId);
    this.ctx.conn().batcher.add({ name: 'sadd', args: [k.inbound, packetId] });
  }

  deleteInboundQos2(clientId: string, packetId: number): void {
    const k = this.ctx.keys.client(clientId);
    this.ctx.conn().batcher.add({ name: 'srem', args: [k.inbound, packetId] });
  }

  putWill(clientId: string, will: StoredWill, fence?: WriteFence): void {
    const { batcher } = this.ctx.conn();
    const { keys } = this.ctx;
    if (fence === undefined) {
      batcher.add({ name: 'hset', args: [keys.wills, clientId, encodeWill(will)] });
    } else if (keys.reaches(fence.key)) {
      const args = [fence.key, keys.wills, fence.value, clientId, encodeWill(will)];
      batcher.add({ name: 'pipitPutWillIf', args });
    }
  }

  deleteWill(clientId: string): void {
    this.ctx.conn().batcher.add({ name: 'hdel', args: [this.ctx.keys.wills, clientId] });
  }

  async loadSessions(): Promise<StoredSessionRecord[]> {
    const { client, batcher } = this.ctx.conn();
    batcher.flush();
    const ids = await client.smembers(this.ctx.keys.sessions);
    const sessions: StoredSessionRecord[] = [];
    for (let i = 0; i < ids.length; i += LOAD_PAGE) {
      const page = await this.readRecords(ids.slice(i, i + LOAD_PAGE));
      for (const record of page) if (record !== undefined) sessions.push(record);
    }
    return sessions;
  }

  async loadSession(clientId: string): Promise<StoredSessionRecord | undefined> {
    this.ctx.conn().batcher.flush();
    const [record] = await this.readRecords([clientId]);
    return record;
  }

  async loadWills(): Promise<Map<string, StoredWill>> {
    const { client, batcher } = this.ctx.conn();
    batcher.flush();
    const rows = await client.hgetallBuffer(this.ctx.keys.wills);
    const wills = new Map<string, StoredWill>();
    for (const [clientId, value] of Object.entries(rows)) wills.set(clientId, decodeWill(value));
    return wills;
  }

  /** Reads the records of `clientIds` in one round trip (undefined where there is none). */
  private async readRecords(clientIds: string[]): Promise<(StoredSessionRecord | undefined)[]> {
    const pipeline = this.ctx.conn().client.pipeline();
    const keys = clientIds.map((id) => this.ctx.keys.client(id));
    for (const k of keys) {
      pipeline.hgetall(k.session).hgetall(k.subscriptions).smembers(k.inbound);
    }
    const replies = (await pipeline.exec()) ?? [];
    return clientIds.map((clientId, i) => {
      const part = (j: number): unknown => {
        const [err, value] = replies[i * 3 + j];
        if (err !== null) throw err;
        return value;
      };
      return toRecord(
        clientId,
        part(0) as Record<string, string>,
        part(1) as Record<string, string>,
        part(2) as string[],
      );
    });
  }
}

/** A session record from its hashes; undefined without a session hash. */
function toRecord(
  clientId: string,
  session: Record<string, string>,
  subscriptions: Record<string, string>,
  inbound: string[],
): StoredSessionRecord | undefined {
  if (session.e === undefined) return undefined;
  const record: StoredSessionRecord = {
    clientId,
    expiryInterval: Number(session.e),
    subscriptions: Object.entries(subscriptions).map(([filter, text]) =>
      decodeSubscription(filter, text),
    ),
    inboundQos2: inbound.map(Number),
  };
  if (session.x !== undefined) record.expiresAt = Number(session.x);
  if (session.ob === '1') record.owner = { username: session.ou ?? null };
  return record;
}
