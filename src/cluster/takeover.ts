/**
 * One owner per client id across the cluster, and takeover across nodes [MQTT-3.1.4-3].
 *
 * `owner:<client id>` names the node (id/instance) holding the client's session in memory,
 * connected or offline. It is a lock whose lease is its node's lease: an owner whose node lease
 * is gone (the node died) holds nothing. Before a claim of a client id this node has no session
 * for, the registry asks this loader: if a live peer owns the id, this node asks that peer over
 * its control channel to let go and waits for its answer. The peer closes the connection (v5
 * DISCONNECT 0x8E), evicts the session from memory and its route table without deleting it
 * from the store, commits what it wrote, then answers; this node takes the lock, and the next
 * loader (`StoredSessionLoader` over the shared store) reads the session as the peer left it.
 * That claim is client-claim.ts; this file answers the requests of other nodes and keeps the
 * set of client ids this node owns.
 */

import type { BrokerCore, SessionLoader, SessionWriteGuard, WriteGrant } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import { publish, type RedisClient } from '../redis/redis-client.js';
import { readAdopted } from './adopt-read.js';
import { awaitsRecovery, ClientClaims } from './client-claim.js';
import { ClientTurns } from './client-turns.js';
import { type ControlMessage, parseControlMessage } from './control-message.js';
import { ControlRequests } from './control-requests.js';
import { adoptHandedOver, type HandedOver, type HandOverOutcome } from './drain-peers.js';
import { FreeClaimGate } from './free-claim-gate.js';
import type { ClusterKeys } from './keys.js';
import { MalformedInput } from './malformed.js';
import type { Outbox } from './outbox.js';
import { type OwnerKeyCounters, OwnerKeysCheck } from './owner-keys-check.js';
import {
  type AdoptionRecord,
  adoptOwner,
  claimOwners,
  clientsHeldByPeers,
  type NodeIdentity,
  parseOwner,
  RELEASE_OWNER,
  releaseOwners,
} from './owners.js';
import type { ReplicaWait } from './replica-wait.js';
import type { SessionArrivals } from './session-arrival.js';
import { leaseGone, RELEASE_LEASES, SessionMoves } from './session-move.js';

/** Ownership of client ids, takeover requests out and in. */
export class ClientOwnership implements SessionLoader, SessionWriteGuard {
  /** Client ids whose lock this node took. */
  private readonly owned = new Set<string>();
  private readonly control: ControlRequests;
  private readonly checking = new Map<string, Promise<void>>();
  /** Claims of client ids by connects here. */
  private readonly claims: ClientClaims;
  /** Move steps asked of this node, in turn per client id and after its own claim. */
  private readonly turns: ClientTurns;
  /** Owner keys read at start (dead owners), compared when the restored sessions are claimed. */
  private seenAtStart: Map<string, string> | undefined;
  /** This node's owner keys checked again after Redis came back (owner-keys-check.ts). */
  private readonly ownerKeys: OwnerKeysCheck;
  /** Free owner keys taken once the live peers checked theirs (free-claim-gate.ts). */
  private readonly gate: FreeClaimGate;
  /** Both ends of session moves between live nodes. */
  readonly moves: SessionMoves;
  /** What else a draining node hands over with its sessions (its wills: node-wiring.ts). */
  handedOver: HandedOver | undefined;

  constructor(
    private readonly core: BrokerCore,
    private readonly redis: RedisClient,
    private readonly keys: ClusterKeys,
    private readonly self: NodeIdentity,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
    private readonly next: SessionLoader | undefined,
    private readonly malformed: MalformedInput,
    move: {
      outbox: Outbox;
      arrivals: SessionArrivals | undefined;
    },
    /**
     * `cluster.wait`: a claim's CONNACK waits for the owner key on the replicas; the keys
     * taken without a claim (restored, adopted, moved here) ride its WAITs.
     */
    private readonly replicas?: ReplicaWait,
    /**
     * The store is on the cluster's Redis (the store a cluster implies): its fenced writes
     * check the owner key in their own atomic step ({@link mayWrite}).
     */
    private readonly fenceStore = false,
  ) {
    this.control = new ControlRequests(redis, keys, () => self.nodeId);
    this.turns = new ClientTurns(logger, (clientId) => this.checking.get(clientId));
    this.moves = new SessionMoves({
      core,
      redis,
      keys,
      self,
      logger,
      timeoutMs,
      ...move,
      ask: (nodeId, request, ms) => this.control.ask(nodeId, request, ms),
      disown: (clientId) => this.owned.delete(clientId),
    });
    const { owned, moves } = this;
    const inTurn = (clientId: string, step: () => Promise<void>) => this.turns.run(clientId, step);
    const ownerValue = () => this.ownerValue;
    const mark = () => keys.ownersChecked(self.nodeId);
    this.ownerKeys = new OwnerKeysCheck({
      core,
      redis,
      keys,
      logger,
      ownerValue,
      mark,
      owned,
      inTurn,
      replicas,
    });
    const { counters } = this.ownerKeys;
    const peers = () => self.peers?.() ?? [];
    const gate = new FreeClaimGate({ redis, keys, logger, peers, boundMs: timeoutMs, counters });
    const parts = { redis, keys, self, logger, moves, next, owned, replicas, gate };
    this.gate = gate;
    this.claims = new ClientClaims(parts);
    // On the store the nodes share, a session is written again after failed batches only
    // while this node owns its client (mayWrite).
    if (next !== undefined) core.registry.guardWritesWith(this);
  }

  /** Clients refused because Redis was unreachable (0x88). */
  get refusedUnreachable(): number {
    return this.claims.refusedUnreachable;
  }

  /** Clients refused because too few replicas had their owner key in time (0x88). */
  get refusedNotReplicated(): number {
    return this.claims.refusedNotReplicated;
  }

  private get ownerValue(): string {
    return `${this.self.nodeId}/${this.self.instance}`;
  }

  /** Redis came back (owner keys lost in a failover?), or this node joined: owner-keys-check.ts. */
  checkOwnerKeys(): Promise<void> {
    return this.ownerKeys.run();
  }

  /** What the checks of the owner keys after a reconnection did. */
  get ownerKeyCounters(): Readonly<OwnerKeyCounters> {
    return this.ownerKeys.counters;
  }

  load(clientId: string, clean = false): Promise<void> | undefined {
    // Only while the key is still ours: a claim whose client gave up (its connection closed
    // before the claim ended) took the key and was never asked for again; once another node
    // took the client id over since (this node let go), the next connect here must ask that
    // node, not read the session it holds from the store (a mark of the passed check, kept
    // apart from `owned`, once let it through).
    if (this.owned.has(clientId)) return this.next?.load(clientId);
    // Concurrent claims of one client id wait for one check (and at most one takeover).
    let checking = this.checking.get(clientId);
    if (checking === undefined) {
      checking = this.claims.claim(clientId, clean).finally(() => this.checking.delete(clientId));
      this.checking.set(clientId, checking);
    }
    return checking;
  }

  /**
   * The write guard of this node's session resync (src/core/session-write-guard.ts): leave
   * to write `clientId`'s stored session again only while its owner key names this node.
   * Once it names another node (the client connected there, its session moved or was taken
   * over), or none (this node let go of it), the stored session is not this node's to write:
   * a deletion made again then would delete the session another node holds. The key is also
   * the fence of the leave when the store is on this Redis, so that the store's deletion and
   * will check it again in the write's own step (a compare-and-delete in Lua: the key may go
   * to another node between this read and the write). With a store on another Redis there
   * is no such step: the read here is the only check.
   */
  async mayWrite(clientId: string): Promise<WriteGrant | undefined> {
    const key = this.keys.owner(clientId);
    if ((await this.redis.get(key)) !== this.ownerValue) return undefined;
    return { fence: this.fenceStore ? { key, value: this.ownerValue } : undefined };
  }

  /**
   * The client ids a live peer holds (read at start, so that this node restores from the
   * shared store only the sessions no live node holds).
   */
  async heldByPeers(): Promise<Set<string>> {
    // A live peer's key a failover lost, scanned before its check wrote it back: restored here too.
    await this.gate.awaitChecks();
    // Sessions of a dead node not yet removed are left for the survivor that removes it.
    const held = async (node: number, i: string) =>
      (await this.self.isLive(node, i)) || awaitsRecovery(this.self, node, i);
    const scan = await clientsHeldByPeers(this.redis, this.keys, this.self.nodeId, held);
    this.seenAtStart = scan.seen;
    return scan.held;
  }

  /**
   * This node restored these clients' sessions from the store: it takes their owner keys,
   * unless another node took one since the start's scan (that session is let go again).
   * Returns the client ids taken, each with the owner key's value before ('' for none).
   */
  async claimRestored(clientIds: Iterable<string>): Promise<Map<string, string>> {
    const ids = [...clientIds];
    const seen = this.seenAtStart ?? new Map<string, string>();
    this.seenAtStart = undefined;
    const lost = new Set(await claimOwners(this.redis, this.keys, ids, seen, this.ownerValue));
    if (ids.length > lost.size) {
      this.replicas?.follow('the owner keys of sessions restored at start', {
        sessions: ids.length - lost.size,
      });
    }
    const claimed = new Map<string, string>();
    for (const clientId of ids) {
      if (!lost.has(clientId)) {
        this.owned.add(clientId);
        claimed.set(clientId, seen.get(clientId) ?? '');
      } else if (this.core.registry.evict(clientId)) {
        this.logger.info(
          { clientId },
          'cluster: restored session claimed by another node meanwhile',
        );
      }
    }
    return claimed;
  }

  /** A message on this node's control channel. */
  onControl(text: string): void {
    let message: ControlMessage;
    try {
      message = parseControlMessage(text);
    } catch (err) {
      this.malformed.note('control', (err as Error).message, {
        text: MalformedInput.sample(text),
      });
      return;
    }
    const { moves, turns } = this;
    if (message.t === 'released' || message.t === 'held') this.control.answered(message);
    else if (message.t === 'takeover') {
      const { clientId, from, req } = message;
      void turns.run(clientId, () => this.releaseNow(clientId, from, req));
    } else if (message.t === 'hold') void turns.run(message.clientId, () => moves.hold(message));
    else if (message.t === 'release')
      void turns.run(message.clientId, () => moves.release(message));
    else if (message.t === 'barrier') moves.barriers.onBarrier(message.to, message.req);
    else if (message.t === 'releaseAll')
      void moves.releaseAll(message.clientIds, message.from, message.req);
    else if (message.t === 'adopt') {
      const adoptOne = (id: string) => this.adoptOne(id, message.owner);
      void adoptHandedOver(message, adoptOne, this.moves, this.handedOver);
    }
  }

  /**
   * Hands the sessions of `clientIds` (held here, committed) to node `nodeId`, which routes
   * them, has this node let go of them (releaseAll) and reads them from the store; resolves
   * once it answered, or once its lease is gone (it died: it answers nothing more, and waiting
   * the whole timeout would hold the drain for `5 x leaseMs`), or after the timeout (a live
   * node that stays silent). Then the sessions left wait for another peer or in the store.
   */
  async handOver(nodeId: number, clientIds: string[]): Promise<HandOverOutcome> {
    const request: ControlMessage = {
      t: 'adopt',
      clientIds,
      from: this.self.nodeId,
      owner: this.ownerValue,
      req: '',
    };
    // The peer routes them, waits for this node's route barrier, then reads them.
    const timeoutMs = (RELEASE_LEASES + 2) * this.timeoutMs;
    let settled = false;
    const answer = this.control.ask(nodeId, request, timeoutMs).finally(() => {
      settled = true;
    });
    const outcome = await Promise.race([
      answer.then((a): HandOverOutcome => (a === undefined ? 'noAnswer' : 'answered')),
      leaseGone(this.redis, this.keys, nodeId, () => settled).then(
        (): HandOverOutcome => 'peerGone',
      ),
    ]);
    if (outcome === 'peerGone') this.control.giveUp(request.req);
    return outcome;
  }

  /**
   * Another node claims `clientId` in one step (a node that connected a client with the
   * session in memory, see takeLock): close, evict, commit, answer (no route barrier).
   */
  private async releaseNow(clientId: string, from: number, req: string): Promise<void> {
    await this.moves.recovery; // a dead node's sessions get its unread inbox first
    await this.moves.letGo(clientId, from, req);
  }

  /**
   * A client connected here without the loader being asked (this node had its session, e.g.
   * an offline persistent one): this node takes the lock, and a live node that held it is
   * told to close its connection, after the fact [MQTT-3.1.4-3].
   */
  connected(clientId: string): void {
    this.moves.connected(clientId); // a session held for a move is not handed over now
    if (this.owned.has(clientId)) return;
    this.owned.add(clientId);
    void this.takeLock(clientId);
  }

  private async takeLock(clientId: string): Promise<void> {
    try {
      const previous = parseOwner(
        (await this.redis.set(this.keys.owner(clientId), this.ownerValue, 'GET')) as string | null,
      );
      if (previous === undefined || previous.nodeId === this.self.nodeId) return;
      if (!(await this.self.isLive(previous.nodeId, previous.instance))) return;
      const request: ControlMessage = {
        t: 'takeover',
        clientId,
        from: this.self.nodeId,
        req: this.control.nextId(),
      };
      await publish(this.redis, this.keys.control(previous.nodeId), JSON.stringify(request));
    } catch (err) {
      this.logger.warn({ err: String(err), clientId }, 'cluster: recording the owner failed');
    }
  }

  /**
   * Takes `clientId`'s owner key if it still names `previousOwner` (compare-and-set: a client
   * that connected elsewhere meanwhile keeps its node) and reads its session. True if adopted.
   * From a dead node (`record`), the client id joins its `adopted:<id>` set in the same step.
   */
  async adoptOne(
    clientId: string,
    previousOwner: string,
    record?: AdoptionRecord,
  ): Promise<boolean> {
    if (this.next === undefined) return false; // no shared store: nothing to read
    try {
      const owners: [string, string] = [previousOwner, this.ownerValue];
      const taken = await adoptOwner(this.redis, this.keys, clientId, owners, record);
      if (!taken) return false;
      this.replicas?.follow('the owner key of an adopted session', { clientId });
      this.owned.add(clientId);
      await readAdopted(clientId, () => this.next?.load(clientId), this.owned, this.logger);
      if (this.owned.has(clientId)) return this.core.sessions.has(clientId);
      // Taken over by another node while it was read: let it go again.
      this.core.registry.evict(clientId);
    } catch (err) {
      this.logger.error(
        { err: String(err), clientId },
        'cluster: adopting a session failed: what its dead node held for it may be lost',
      );
    }
    return false;
  }

  /** Takeovers of sessions here wait for `recovery` (it never rejects) before they let go. */
  holdReleases(recovery: Promise<void>): void {
    this.moves.recovery = recovery;
  }

  /** Lets go of every client id this node holds (it drains: the sessions were evicted). */
  async releaseAll(): Promise<void> {
    const ids = [...this.owned];
    this.owned.clear();
    await releaseOwners(this.redis, this.keys, ids, this.ownerValue);
  }

  /**
   * A client's connection here ended: the lock is let go once the session is gone (it ended
   * with its connection); an offline session kept here keeps it, so that a connect on another
   * node asks this one to let go of it first.
   */
  disconnected(clientId: string): void {
    if (this.core.sessions.has(clientId) || !this.owned.has(clientId)) return;
    // A session ended here whose deletion's batch failed keeps the key until the resync
    // deleted it again (mayWrite grants only to the owner; {@link written} lets go then).
    const settled = this.core.registry.deletionSettled(clientId);
    if (settled === true) this.letGoOf(clientId);
    else if (settled !== false) void settled.then((done) => done && this.letGoOf(clientId));
  }

  /** The resync deleted again the session of `clientId` ended here: the key goes now. */
  written(clientId: string): void {
    this.letGoOf(clientId);
  }

  /** Lets go of `clientId`'s owner key, unless a session of it is here (again). */
  private letGoOf(clientId: string): void {
    if (this.core.sessions.has(clientId)) return;
    if (!this.owned.delete(clientId)) return;
    this.redis
      .eval(RELEASE_OWNER, 1, this.keys.owner(clientId), this.ownerValue)
      .catch((err: unknown) => {
        this.logger.warn({ err: String(err), clientId }, 'cluster: releasing the owner failed');
      });
  }
}
