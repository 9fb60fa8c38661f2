/**
 * Reads a dead node's inbox for the sessions adopted from it (issue #11: nothing
 * acknowledged is lost when a node dies). A publisher got its PUBACK/PUBREC once its message
 * was in the dead node's inbox; what the dead node had not read, or read and not committed
 * to its sessions' queues in the store, is delivered here, once.
 *
 * - From where: the dead node committed its read position (the store's cursor
 *   `inbox:<instance>`) in the same store batch as the writes its reads caused, so reading
 *   on after it delivers nothing the adopted sessions already hold (no QoS 2 duplicate) and
 *   skips nothing they lack. No position: nothing was committed, read from the start.
 * - To whom: a forwarded message was meant for the dead node's subscribers only. The
 *   survivor's own sessions got their copy directly from the publisher's node, so the router
 *   is told to deliver to the adopted sessions only (ForwardedScope.only), with the QoS, No
 *   Local, Retain As Published and subscription ids of their subscriptions, as a normal
 *   inbox read would; a shared group the dead node was chosen for picks an adopted member.
 * - Then: the deliveries are committed to the store, and the renamed stream and the cursor
 *   are deleted. If this node dies meanwhile, the renamed stream expires (a bound on garbage):
 *   a second death during the recovery of the first may lose what it held.
 */

import type { BrokerCore, Subscriber } from '../core/index.js';
import type { Logger, StoreCursors } from '../ports/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import { decodeBatch } from './envelope.js';
import { entryData, markerOf, routeForwarded } from './inbox.js';
import { ClusterKeys } from './keys.js';
import type { MalformedInput } from './malformed.js';
import type { OrphanInbox } from './membership.js';
import type { Outbox } from './outbox.js';

/** Entries read per XRANGE. */
const PAGE = 512;

/** Counters of dead nodes' inboxes read here. */
export interface OrphanCounters {
  /** Inboxes of dead nodes read. */
  inboxes: number;
  /** Messages delivered from them to the sessions adopted with them. */
  messages: number;
}

/** Delivers what dead nodes left in their inboxes to the sessions adopted from them. */
export class OrphanReader {
  readonly counters: OrphanCounters = { inboxes: 0, messages: 0 };

  constructor(
    private readonly core: BrokerCore,
    private readonly redis: RedisClient,
    private readonly cursors: StoreCursors,
    private readonly outbox: Outbox,
    private readonly logger: Logger,
    private readonly malformed: MalformedInput,
  ) {}

  /**
   * Delivers the entries of `orphan` after the dead node's committed position to the
   * sessions of `clientIds` (adopted here), commits them, then deletes the stream and its
   * position. Never rejects (a failure is logged; the stream then expires).
   */
  async deliver(orphan: OrphanInbox, clientIds: readonly string[]): Promise<void> {
    const adopted = new Set<Subscriber>();
    for (const clientId of clientIds) {
      const session = this.core.sessions.get(clientId);
      if (session !== undefined) adopted.add(session);
    }
    const name = ClusterKeys.inboxCursor(orphan.instance);
    try {
      const committed = await this.cursors.read(name);
      const messages = adopted.size === 0 ? 0 : await this.readAll(orphan.key, committed, adopted);
      // The store only: a forward refused meanwhile fails the whole commit, not these writes.
      await this.core.persistence?.store.commit();
      await this.redis.del(orphan.key);
      this.cursors.delete(name);
      this.counters.inboxes++;
      this.counters.messages += messages;
      this.logger.info(
        { inbox: orphan.key, after: committed ?? 'start', messages, sessions: adopted.size },
        'cluster: delivered a dead node’s unread inbox to the sessions adopted from it',
      );
    } catch (err) {
      this.logger.error(
        { err: String(err), inbox: orphan.key },
        'cluster: reading a dead node’s inbox failed: messages it held may be lost',
      );
    }
  }

  /** Reads the stream after `committed` page by page, delivering each entry. */
  private async readAll(
    key: string,
    committed: string | undefined,
    adopted: ReadonlySet<Subscriber>,
  ): Promise<number> {
    const only = (subscriber: Subscriber): boolean => adopted.has(subscriber);
    let start = committed === undefined ? '-' : `(${committed}`;
    let messages = 0;
    for (;;) {
      const page = (await this.redis.callBuffer('XRANGE', key, start, '+', 'COUNT', PAGE)) as [
        Buffer,
        Buffer[],
      ][];
      for (const [id, fields] of page) {
        // A move's marker was for the dead node's own wait: nothing to deliver.
        if (markerOf(fields) !== undefined) continue;
        try {
          messages += routeForwarded(
            this.core.pipeline,
            this.outbox,
            decodeBatch(entryData(fields)),
            only,
          );
        } catch (err) {
          this.malformed.note('inbox', (err as Error).message, { entry: id.toString() });
        }
      }
      if (page.length < PAGE) return messages;
      start = `(${page[page.length - 1]![0].toString()}`;
    }
  }
}
