/**
 * What the survivor that removed a dead node's traces does for its clients: it adopts the
 * sessions the node held (each owner key that still names the dead instance is taken by
 * compare-and-set and the session read from the store, so its subscriptions are routed here
 * and messages queued for it), then delivers to those sessions what the node left unread in
 * its inbox (orphan-reader.ts). A takeover of one of those sessions by another node waits
 * until both are done, so the session moves on with everything it was owed. If the dead
 * node was itself recovering another dead node (it died during that recovery), that
 * recovery is taken over here in the same step (recovery-takeover.ts).
 */

import type { Logger } from '../ports/index.js';
import { MqttError, ReasonCode } from '../protocol/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import type { ClusterKeys } from './keys.js';
import type { OrphanInbox } from './membership.js';
import type { OrphanReader } from './orphan-reader.js';
import { type NodeIdentity, ownedByNode, parseOwner } from './owners.js';
import type { TakenOverRecovery } from './recovery-takeover.js';
import type { ClientOwnership } from './takeover.js';

/** Adopts dead nodes' sessions and delivers their unread inboxes, one node at a time. */
export class DeadNodeRecovery {
  private running: Promise<void> = Promise.resolve();
  /**
   * Dead nodes removed while this node joined, before its store was open and its sessions
   * restored (see {@link started}); undefined once started, or when there is nothing to read.
   */
  private deferred:
    | { nodeId: number; orphan: OrphanInbox | undefined; instance: string | undefined }[]
    | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: ClusterKeys,
    private readonly self: NodeIdentity,
    private readonly ownership: ClientOwnership,
    private readonly orphans: OrphanReader | undefined,
    private readonly logger: Logger,
    /** Commits the store and the route table (not the forwards of unrelated publishes). */
    private readonly commit: () => Promise<void>,
    /** Tells the other nodes that a dead node left (they drop its routes). */
    private readonly announceLeft: (nodeId: number) => Promise<void>,
    /** Ends `recovering:<id>` for the dead instance: its sessions may be claimed elsewhere. */
    private readonly recovered: (nodeId: number, instance: string) => Promise<void>,
    /**
     * Recoveries a dead recoverer (`<id>/<instance>`) was running, taken over for this node;
     * `ttlMs`: how long the record of each adoption from a dead node is kept.
     */
    private readonly handover: {
      takeOver: (recoverer: string) => Promise<TakenOverRecovery[]>;
      ttlMs: number;
    },
    /** Puts back the delayed wills the adopted sessions' clients left waiting. Never rejects. */
    private readonly restoreWills: (clientIds: readonly string[]) => Promise<unknown> = () =>
      Promise.resolve(),
  ) {
    if (orphans !== undefined) this.deferred = [];
  }

  /**
   * Node `nodeId` died and this node removed its traces (`orphan`: its inbox, renamed for
   * this node). Runs after any recovery under way; resolves when this one is done.
   */
  recover(nodeId: number, orphan: OrphanInbox | undefined, instance?: string): Promise<void> {
    if (this.deferred !== undefined) {
      // The dead node's sessions are restored from the store at start: read its inbox then.
      this.deferred.push({ nodeId, orphan, instance });
      return this.running;
    }
    this.running = this.running.then(() => this.adoptAndDeliver(nodeId, orphan, instance));
    this.ownership.holdReleases(this.running);
    return this.running;
  }

  /**
   * This node's store is open and its sessions restored (`restored`: client id -> the owner
   * key's value before). The dead nodes it removed while it joined are recovered now as any
   * (their sessions were left in the store for this recovery: `recovering:<id>`), and
   * `inherited`, the inbox of a dead node whose id it claimed before any survivor removed it,
   * goes to the restored sessions that dead instance held.
   */
  started(
    restored: ReadonlyMap<string, string>,
    nodeId: number,
    inherited: OrphanInbox | undefined,
    previous: string | undefined,
  ): void {
    const pending = this.deferred ?? [];
    this.deferred = undefined;
    for (const { nodeId, orphan, instance } of pending) {
      this.running = this.running.then(() => this.adoptAndDeliver(nodeId, orphan, instance));
    }
    // The previous holder of our id died while it recovered other dead nodes (their sessions
    // it adopted were restored here with its own): those recoveries go on here, before its
    // inbox (theirs are older).
    if (previous !== undefined) {
      this.running = this.running.then(() => this.resume(`${nodeId}/${previous}`));
    }
    if (inherited !== undefined) {
      const owner = `${nodeId}/${inherited.instance}`;
      const ids = [...restored].filter(([, before]) => before === owner).map(([id]) => id);
      this.running = this.running.then(() => this.orphans?.deliver(inherited, ids));
    }
    this.ownership.holdReleases(this.running);
  }

  /** Takes over and finishes the recoveries the dead `recoverer` ran. */
  private async resume(recoverer: string): Promise<void> {
    const taken = await this.takeOver(recoverer);
    const inherited: string[][] = [];
    for (const recovery of taken) inherited.push(await this.adoptFrom(recovery.nodeId));
    await this.restoreWills(inherited.flat());
    await this.routed(taken.map((recovery) => recovery.nodeId));
    await this.deliverTaken(taken, inherited);
  }

  /**
   * Delivers the inboxes of recoveries taken over to the sessions adopted from their dead
   * nodes (by the dead recoverer: `adopted`; here: `inherited`), then ends them.
   */
  private async deliverTaken(
    taken: readonly TakenOverRecovery[],
    inherited: readonly string[][],
  ): Promise<void> {
    for (const [i, recovery] of taken.entries()) {
      const clientIds = [...recovery.adopted, ...inherited[i]!];
      if (recovery.orphan !== undefined) {
        await this.orphans?.deliver(recovery.orphan, clientIds, { dedupe: true });
      }
      await this.end(recovery.nodeId, recovery.instance);
    }
  }

  private async adoptAndDeliver(
    nodeId: number,
    orphan: OrphanInbox | undefined,
    instance: string | undefined,
  ): Promise<void> {
    const adopted = await this.adoptFrom(nodeId);
    // It died while it recovered other dead nodes: those recoveries go on here.
    const taken = instance === undefined ? [] : await this.takeOver(`${nodeId}/${instance}`);
    const inherited: string[][] = [];
    for (const recovery of taken) inherited.push(await this.adoptFrom(recovery.nodeId));
    await this.restoreWills([...adopted, ...inherited.flat()]);
    await this.routed([nodeId, ...taken.map((recovery) => recovery.nodeId)]);
    // The older inboxes first: what the dead recoverer got for their sessions came later.
    await this.deliverTaken(taken, inherited);
    if (orphan !== undefined) await this.orphans?.deliver(orphan, adopted);
    if (instance !== undefined) await this.end(nodeId, instance);
  }

  /**
   * Adopts the sessions whose owner key names a dead instance of `nodeId` (each recorded in
   * its `adopted:<id>` set with the owner key); resolves with their client ids. Never rejects.
   */
  private async adoptFrom(nodeId: number): Promise<string[]> {
    const adopted: string[] = [];
    const record = { key: this.keys.adopted(nodeId), ttlMs: this.handover.ttlMs };
    try {
      for (const [clientId, owner] of await ownedByNode(this.redis, this.keys, nodeId)) {
        const { instance } = parseOwner(owner)!;
        if (await this.self.isLive(nodeId, instance)) continue;
        if (await this.ownership.adoptOne(clientId, owner, record)) adopted.push(clientId);
      }
    } catch (err) {
      this.logger.warn({ err: String(err), node: nodeId }, 'cluster: adopting sessions failed');
    }
    this.logger.info(
      { node: nodeId, sessions: adopted.length },
      'cluster: adopted the sessions of a dead node',
    );
    return adopted;
  }

  /** Takes over the recoveries `recoverer` ran when it died. Never rejects. */
  private async takeOver(recoverer: string): Promise<TakenOverRecovery[]> {
    try {
      const taken = await this.handover.takeOver(recoverer);
      for (const { nodeId, adopted, orphan } of taken) {
        this.logger.warn(
          { node: nodeId, recoverer, adoptedBefore: adopted.length, inbox: orphan?.key },
          'cluster: the node recovering a dead node died too: its recovery is taken over here',
        );
      }
      return taken;
    } catch (err) {
      this.logger.warn({ err: String(err), recoverer }, 'cluster: taking over recoveries failed');
      return [];
    }
  }

  /** The recovery of `instance` of `nodeId` is over: other nodes may claim its sessions. */
  private async end(nodeId: number, instance: string): Promise<void> {
    await this.recovered(nodeId, instance).catch((err: unknown) => {
      this.logger.warn({ err: String(err), node: nodeId }, 'cluster: ending a recovery failed');
    });
  }

  /**
   * The adopted sessions' routes are written and announced (the commit waits for the route
   * table): now the departure of `nodeIds` is announced, after them on the same connection,
   * so no node drops a dead node's routes before it routes its sessions here. Never rejects.
   */
  private async routed(nodeIds: readonly number[]): Promise<void> {
    if (nodeIds.length === 0) return;
    try {
      await this.commit();
    } catch (err) {
      this.logger.warn({ err: String(err) }, 'cluster: committing adopted sessions failed');
    }
    for (const nodeId of nodeIds) {
      await this.announceLeft(nodeId).catch((err: unknown) => {
        this.logger.warn(
          { err: String(err), node: nodeId },
          'cluster: announcing a departure failed',
        );
      });
    }
  }
}

/**
 * The answer to a client whose session a dead node held and no survivor removed yet (a
 * heartbeat at most): CONNACK 0x88 (3.1.1: 0x03); it connects again once the survivor
 * adopted the session with what the dead node's inbox held for it.
 */
export function recoveringError(nodeId: number): MqttError {
  return new MqttError(
    ReasonCode.ServerUnavailable,
    `cluster node ${nodeId}, which held this client id, died; its sessions are being recovered: try again`,
  );
}
