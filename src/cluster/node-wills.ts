/**
 * Wills of clients whose node dies. While a client with a will is connected, its node keeps
 * a copy in Redis (`wills:<node id>`, one field per client id), removed when the connection
 * ends (the node itself then sends or discards the will, as on one node). When a node's lease
 * expires, the survivor that removes its traces takes this hash with them (one Lua script:
 * one survivor only) into its own `orphan-wills:<id>` and schedules each will here as the dead
 * node would have: after the Will Delay Interval, or at once when the session ended with the
 * connection (the lower of the will delay and the session expiry) [MQTT-3.1.3-9], counted
 * from the removal. A client that connects here again meanwhile with a new session gets its
 * will sent at once, as its old session ended; one that resumes its session cancels it.
 *
 * Each copy carries this node's verdict on the will (core will-verdict.ts: taken when the
 * client connects, with this node's hooks, as the client under its listener), so that a
 * survivor without that listener follows it instead of denying every such will. A copy
 * without one (an older node's, or garbage in the field) is denied there, and logged.
 *
 * Each such will stays in `orphan-wills:<id>` until it is sent (its record deleted once the
 * publish is committed) or cancelled, so that when this node dies too, the survivor that
 * removes it (or the node that claims its id) takes them over with the deadline left: at
 * least once. A second death after the publish and before the record's deletion sends it
 * again (docs/cluster.md).
 */
import { deserialize, serialize } from 'node:v8';
import type { BrokerCore, ClientInfo, WillFate, WillVerdict } from '../core/index.js';
import { asWillVerdict, Connection } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import type { Will } from '../protocol/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import type { ClusterKeys } from './keys.js';
import { DROP_WILL } from './membership-scripts.js';
import type { ReplicaWait } from './replica-wait.js';

/**
 * A will of a dead node's client taken by this node: its field in `orphan-wills:<id>` and its
 * record there (`<ms the death was found>|<v8 copy of a StoredWill>`).
 */
export interface OrphanWill {
  readonly clientId: string;
  readonly record: Buffer;
}

/** What is kept of a connected client's will. */
interface StoredWill {
  will: Will;
  client: Pick<
    ClientInfo,
    'clientId' | 'username' | 'usernameVerified' | 'listener' | 'protocolVersion'
  >;
  /** Session Expiry Interval of the client's session, in seconds. */
  sessionExpiry: number;
  /**
   * This node's verdict on the will (absent from an older node's copies: read as unknown,
   * as is anything but 'allow' or 'deny').
   */
  verdict?: WillVerdict;
}

/** Copies of connected clients' wills, and the wills of dead nodes' clients. */
export class NodeWills implements WillFate {
  /** The records in our `orphan-wills:<id>` of the wills waiting here, by client id. */
  private readonly held = new Map<string, Buffer>();
  /**
   * Wills that came while this node joined, before its store was open (a will is written
   * there when scheduled): adopted once it is ({@link started}). Undefined without a store.
   */
  private deferred: { deadNode: number; wills: readonly OrphanWill[] }[] | undefined;

  constructor(
    private readonly core: BrokerCore,
    private readonly redis: RedisClient,
    private readonly keys: ClusterKeys,
    private readonly logger: Logger,
    private readonly nodeId: () => number,
    /** `cluster.wait`: a will copy rides the next WAIT (counted if short, never refused). */
    private readonly replicas?: ReplicaWait,
  ) {
    core.wills.observe(this);
    core.recordWillVerdicts = true;
    if (core.persistence !== undefined) this.deferred = [];
  }

  /** The store is open and the sessions restored: the wills that came meanwhile are adopted. */
  started(): void {
    const deferred = this.deferred ?? [];
    this.deferred = undefined;
    for (const { deadNode, wills } of deferred) this.adopt(deadNode, wills);
  }

  /** A client connected here: its will (if any) is copied to Redis. */
  connected(client: ClientInfo): void {
    const session = this.core.sessions.get(client.clientId);
    const output = session?.output;
    if (!(output instanceof Connection) || output.will === undefined) return;
    const stored: StoredWill = {
      will: output.will,
      client: {
        clientId: client.clientId,
        username: client.username,
        usernameVerified: client.usernameVerified,
        listener: client.listener,
        protocolVersion: client.protocolVersion,
      },
      sessionExpiry: session!.expiryInterval,
    };
    const verdict = output.willVerdict;
    if (!(verdict instanceof Promise)) {
      this.copy({ ...stored, verdict });
      return;
    }
    // An asynchronous hook decides: the copy is written once it did, unless the connection
    // ended meanwhile (its removal went first; a copy written after it would outlive it).
    void verdict.then((settled) => {
      if (!output.closed) this.copy({ ...stored, verdict: settled });
    });
  }

  private copy(stored: StoredWill): void {
    const { client } = stored;
    this.redis
      .hset(this.keys.wills(this.nodeId()), client.clientId, serialize(stored))
      .catch((err: unknown) => this.warn(err, client.clientId, 'copying a will'));
    this.replicas?.follow('a will copy', { clientId: client.clientId });
  }

  /** A client's connection here ended: this node decides the fate of its will. */
  disconnected(clientId: string): void {
    this.redis
      .hdel(this.keys.wills(this.nodeId()), clientId)
      .catch((err: unknown) => this.warn(err, clientId, 'removing a will copy'));
  }

  /**
   * Schedules the wills of dead nodes' clients that came to this node (from `deadNode`'s
   * removal, or from the previous holder of our id): each due at the time the death was
   * found plus the lower of its Will Delay Interval and its session expiry. A record that is
   * not one is logged and deleted.
   */
  adopt(deadNode: number, wills: readonly OrphanWill[]): void {
    if (this.deferred !== undefined) {
      this.deferred.push({ deadNode, wills });
      return;
    }
    const unjudged: string[] = [];
    for (const { clientId, record } of wills) {
      const parsed = parseRecord(record);
      if (parsed === undefined || parsed.stored.client.clientId !== clientId) {
        this.warn('not a will record', clientId, 'reading a will of a dead node');
        this.drop(clientId, record);
        continue;
      }
      const { foundAt, stored } = parsed;
      const { will, client, sessionExpiry } = stored;
      const verdict = asWillVerdict(stored.verdict);
      if (verdict === undefined) unjudged.push(clientId);
      const delay = Math.min(will.properties?.willDelayInterval ?? 0, sessionExpiry);
      const properties = { ...will.properties, willDelayInterval: delay };
      const dueAt = foundAt + delay * 1000;
      this.logger.info(
        { clientId, node: deadNode, delay, dueInMs: Math.max(0, dueAt - Date.now()) },
        'cluster: sending the will of a client of a node that died',
      );
      // A will already waiting here for that client id is replaced (its record goes first).
      this.core.wills.cancel(clientId);
      this.held.set(clientId, record);
      this.core.wills.scheduleAt(
        { ...client, remoteAddress: undefined, certificateIdentity: undefined },
        { ...will, properties },
        dueAt,
        verdict,
      );
    }
    if (unjudged.length > 0) this.warnUnjudged(deadNode, unjudged);
  }

  /** One line for the wills whose copy has no verdict (a node's clients may be many). */
  private warnUnjudged(deadNode: number, clientIds: readonly string[]): void {
    this.logger.warn(
      { node: deadNode, wills: clientIds.length, clientIds: clientIds.slice(0, 10) },
      'cluster: wills of a dead node’s clients without its verdict (copied by an older node, or not one): each is sent only if a rule of this node allows it (none does for a listener this node does not have)',
    );
  }

  /** WillFate: a will was published; a held one's record goes once the publish is committed. */
  sent(clientId: string, routed: Promise<void>): void {
    const record = this.held.get(clientId);
    if (record === undefined) return;
    this.held.delete(clientId);
    void this.committed(routed).then(
      () => this.drop(clientId, record),
      (err: unknown) => this.warn(err, clientId, 'committing a will (its record stays)'),
    );
  }

  /** WillFate: a waiting will was dropped (its client resumed its session): so is its record. */
  cancelled(clientId: string): void {
    const record = this.held.get(clientId);
    if (record === undefined) return;
    this.held.delete(clientId);
    this.drop(clientId, record);
  }

  /**
   * Settles once a will's publish is committed: routed, then the store's commit, which waits
   * for the forwards to other nodes' inboxes too. Without a store, after this turn's forwards
   * were written (the outbox flushes them on the same connection, before the deletion).
   */
  private async committed(routed: Promise<void>): Promise<void> {
    await routed;
    const persistence = this.core.persistence;
    if (persistence !== undefined) await persistence.commit();
    else await new Promise((resolve) => setImmediate(resolve));
  }

  /** Deletes `clientId`'s record from our `orphan-wills:<id>` if it is still `record`. */
  private drop(clientId: string, record: Buffer): void {
    this.redis
      .eval(DROP_WILL, 1, this.keys.orphanWills(this.nodeId()), clientId, record)
      .catch((err: unknown) => this.warn(err, clientId, 'deleting a will record'));
  }

  private warn(err: unknown, clientId: string, what: string): void {
    this.logger.warn({ err: String(err), clientId }, `cluster: ${what} failed`);
  }
}

/** The wills of REMOVE_TRACES's answer (client id, record pairs). */
export function orphanWills(pairs: readonly Buffer[]): OrphanWill[] {
  const wills: OrphanWill[] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    wills.push({ clientId: pairs[i]!.toString(), record: pairs[i + 1]! });
  }
  return wills;
}

/**
 * The wills a previous holder of a node id left in its `orphan-wills:<id>` (`key`), read by
 * the node that claims the id (none of a key of another type).
 */
export async function heldWills(redis: RedisClient, key: string): Promise<OrphanWill[]> {
  if ((await redis.type(key)) !== 'hash') return [];
  const fields = await redis.hgetallBuffer(key);
  return Object.entries(fields).map(([clientId, record]) => ({ clientId, record }));
}

/** A record of `orphan-wills:<id>`, or undefined when it is not one. */
function parseRecord(record: Buffer): { foundAt: number; stored: StoredWill } | undefined {
  const bar = record.indexOf(0x7c); // '|'
  if (bar <= 0) return undefined;
  const foundAt = Number(record.subarray(0, bar).toString('latin1'));
  if (!Number.isSafeInteger(foundAt)) return undefined;
  let stored: StoredWill;
  try {
    stored = deserialize(record.subarray(bar + 1)) as StoredWill;
  } catch {
    return undefined;
  }
  return isStoredWill(stored) ? { foundAt, stored } : undefined;
}

/** True when `value` has the shape {@link NodeWills.connected} writes. */
function isStoredWill(value: unknown): value is StoredWill {
  const { will, client, sessionExpiry } = (value ?? {}) as Partial<StoredWill>;
  return (
    typeof will === 'object' &&
    will !== null &&
    typeof will.topic === 'string' &&
    will.payload instanceof Uint8Array &&
    (will.qos === 0 || will.qos === 1 || will.qos === 2) &&
    typeof will.retain === 'boolean' &&
    (will.properties === undefined ||
      (typeof will.properties === 'object' &&
        (will.properties.willDelayInterval === undefined ||
          Number.isFinite(will.properties.willDelayInterval)))) &&
    typeof client === 'object' &&
    client !== null &&
    typeof client.clientId === 'string' &&
    Number.isFinite(sessionExpiry)
  );
}
