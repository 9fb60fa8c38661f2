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
 * - Page by page: after each page its last entry id becomes the dead node's position (the
 *   same cursor), committed with the deliveries it caused, so a survivor that takes the
 *   recovery over when this node dies too (recovery-takeover.ts) reads on from there: nothing
 *   delivered and committed here comes twice, nothing else is skipped. It also leaves out a
 *   message a session holds already (queued or inflight: ids are unique across nodes and kept
 *   by forwards and the store), as a session move does (session-arrival.ts).
 * - Parked: a session that was moving into the dead node had messages parked there in memory
 *   (session-arrival.ts), read from its inbox before the committed position. The parked
 *   cursor (parked-position.ts, committed with the position) says from where, and for which
 *   sessions: those entries are read again for those sessions only, leaving out a message a
 *   session holds already (what the node it moved from queued for it, as a move's landing
 *   does); then the parked cursor is deleted. Those sessions' held messages are left out
 *   after the position too.
 * - Trimmed: the senders' cap (`cluster.inboxMaxLength`) may have trimmed entries to read
 *   here; the dead node's position or the parked cursor's found gone is counted and logged
 *   as a loss (trim-check.ts). A stand-in here never parks these deliveries (they go to the
 *   adopted sessions only), so nothing of this inbox is pinned.
 * - Then: the stream and the cursors are deleted. If this node dies meanwhile, the stream
 *   and `recovering:<id>` wait for the survivor that takes the recovery over (they expire
 *   after `max(60 s, 10 x leaseMs)` as a bound on garbage).
 */

import type { BrokerCore, Subscriber } from '../core/index.js';
import type { Logger, StoreCursors } from '../ports/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import { ResentBatches } from './batch-number.js';
import { decodeBatch } from './envelope.js';
import { heldMessageIds } from './held-message-ids.js';
import { entryData, markerOf, routeForwarded } from './inbox.js';
import { ClusterKeys } from './keys.js';
import type { MalformedInput } from './malformed.js';
import type { OrphanInbox } from './membership.js';
import type { Outbox } from './outbox.js';
import {
  compareStreamIds,
  decodeParked,
  type ParkedRange,
  parkedCursor,
} from './parked-position.js';
import { entryExists } from './trim-check.js';

/** Entries read per XRANGE. */
const PAGE = 512;
/** The message ids a session holds, when they are not looked at. */
const NONE: ReadonlySet<number> = new Set();

/** Counters of dead nodes' inboxes read here. */
export interface OrphanCounters {
  /** Inboxes of dead nodes read. */
  inboxes: number;
  /** Messages delivered from them to the sessions adopted with them. */
  messages: number;
  /** Recoveries taken over from a survivor that died while it ran them. */
  takenOver: number;
  /**
   * Messages left out because the session held them already: in a recovery taken over, or
   * for a session that was moving into the dead node (what the node it left queued for it).
   */
  duplicates: number;
  /**
   * Ranges of dead nodes' inboxes found trimmed by the senders' cap (`cluster.inboxMaxLength`)
   * before they were read here: entries after the dead node's position (it had not read
   * them), or parked entries to read again for a session that was moving into it. Each a
   * loss of acknowledged messages, logged as an error (Redis 7.0 or later: trim-check.ts).
   */
  trimmed: number;
  /**
   * Entries skipped as a batch read already from the same inbox (its sender's XADD ran twice:
   * batch-number.ts). A resend whose original the dead node read before its position is not
   * told apart, and is delivered again.
   */
  resent: number;
}

/** Delivers what dead nodes left in their inboxes to the sessions adopted from them. */
export class OrphanReader {
  readonly counters: OrphanCounters = {
    inboxes: 0,
    messages: 0,
    takenOver: 0,
    duplicates: 0,
    trimmed: 0,
    resent: 0,
  };

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
   * sessions of `clientIds` held here (adopted), committing page by page, then deletes the
   * stream and its position. With `dedupe` (a recovery taken over: its first survivor may
   * have delivered part of it) a message a session holds already is left out; so it is for a
   * session that had messages parked there, which gets the entries after the parked cursor's
   * position too (parked-position.ts). Never rejects
   * (a failure is logged; the stream then expires).
   */
  async deliver(
    orphan: OrphanInbox,
    clientIds: readonly string[],
    options: { dedupe?: boolean } = {},
  ): Promise<void> {
    const adopted = new Map<Subscriber, ReadonlySet<number>>();
    /** The adopted sessions that had messages parked on the dead node. */
    const parkedFor = new Map<Subscriber, ReadonlySet<number>>();
    const name = ClusterKeys.inboxCursor(orphan.instance);
    const parkedName = parkedCursor(name);
    // One for both reads below: they read one stream in order (the parked entries, then on).
    const seen = new ResentBatches();
    try {
      const committed = await this.cursors.read(name);
      const parked = decodeParked(await this.cursors.read(parkedName));
      const parkedIds = new Set(parked?.clientIds);
      for (const clientId of new Set(clientIds)) {
        const session = this.core.sessions.get(clientId);
        if (session === undefined) continue;
        const dedupe = options.dedupe || parkedIds.has(clientId);
        const held = dedupe ? await heldMessageIds(this.core, session) : NONE;
        adopted.set(session, held);
        if (parkedIds.has(clientId)) parkedFor.set(session, held);
      }
      await this.checkTrimmed(orphan.key, committed, parkedFor.size > 0 ? parked : undefined);
      let messages = 0;
      if (parked && committed !== undefined && compareStreamIds(parked.since, committed) < 0) {
        // Read again up to the position, for the sessions whose messages were parked only.
        if (parkedFor.size > 0) {
          const range = { after: parked.since, to: committed };
          messages += await this.readAll(orphan.key, undefined, range, parkedFor, seen);
        }
        this.cursors.delete(parkedName);
        await this.core.persistence?.store.commit();
      }
      const range = { after: committed, to: '+' };
      if (adopted.size > 0) {
        messages += await this.readAll(orphan.key, name, range, adopted, seen);
      }
      // The store only: a forward refused meanwhile fails the whole commit, not these writes.
      await this.core.persistence?.store.commit();
      await this.redis.del(orphan.key);
      this.cursors.delete(name);
      this.cursors.delete(parkedName);
      this.counters.inboxes++;
      this.counters.messages += messages;
      this.logger.info(
        {
          inbox: orphan.key,
          after: committed ?? 'start',
          parkedAfter: parked?.since,
          messages,
          sessions: adopted.size,
        },
        'cluster: delivered a dead node’s unread inbox to the sessions adopted from it',
      );
    } catch (err) {
      this.logger.error(
        { err: String(err), inbox: orphan.key },
        'cluster: reading a dead node’s inbox failed: messages it held may be lost',
      );
    }
  }

  /**
   * Were entries to read trimmed off the dead node's inbox by the senders' cap
   * (trim-check.ts)? The dead node's own trims kept its position and the parked cursor's
   * (XTRIM MINID keeps the id it is given), and nothing is appended to the stream any more:
   * one of them gone means the cap reached it, and the entries after it (not read by the dead
   * node, or parked for sessions adopted here) were lost, unless the cap stopped right at it.
   * Logged and counted, never thrown: what is left is delivered as ever. No position: the
   * dead node read nothing and the check cannot tell (not counted).
   */
  private async checkTrimmed(
    key: string,
    committed: string | undefined,
    parked: ParkedRange | undefined,
  ): Promise<void> {
    const lost = (what: string, after: string, clientIds?: readonly string[]) => {
      this.counters.trimmed++;
      this.logger.error(
        { inbox: key, after, clientIds },
        `cluster: the inbox cap (cluster.inboxMaxLength) trimmed ${what} of a dead node’s inbox before they were read: messages acknowledged to their publishers are lost`,
      );
    };
    try {
      // '0-0': the dead node parked from its first entry on, and nothing before it to look up.
      const since = parked?.since;
      if (since !== undefined && since !== '0-0' && !(await entryExists(this.redis, key, since))) {
        lost('parked entries', since, parked?.clientIds);
      }
      if (committed !== undefined && !(await entryExists(this.redis, key, committed))) {
        lost('entries it had not read', committed);
      }
    } catch (err) {
      this.logger.warn(
        { err: String(err), inbox: key },
        'cluster: checking for trimmed entries failed',
      );
    }
  }

  /**
   * Reads the stream from after `range.after` (undefined: the start) up to `range.to`
   * page by page, delivering each entry to the sessions of `adopted`, then setting the
   * position `name` (if any) to the page's last entry and committing them together.
   */
  private async readAll(
    key: string,
    name: string | undefined,
    range: { after: string | undefined; to: string },
    adopted: ReadonlyMap<Subscriber, ReadonlySet<number>>,
    seen: ResentBatches,
  ): Promise<number> {
    let messageId = 0;
    const only = (subscriber: Subscriber): boolean => {
      const held = adopted.get(subscriber);
      if (held === undefined) return false;
      if (!held.has(messageId)) return true;
      this.counters.duplicates++;
      return false;
    };
    let start = range.after === undefined ? '-' : `(${range.after}`;
    let messages = 0;
    for (;;) {
      const page = (await this.redis.callBuffer('XRANGE', key, start, range.to, 'COUNT', PAGE)) as [
        Buffer,
        Buffer[],
      ][];
      for (const [id, fields] of page) {
        // A move's marker was for the dead node's own wait: nothing to deliver.
        if (markerOf(fields) !== undefined) continue;
        try {
          // [MQTT-4.3.3-2] (3.1.1) [MQTT-4.3.3-10] (5.0): a batch resent is not delivered again.
          const data = seen.fresh(entryData(fields));
          if (data === undefined) {
            this.counters.resent++;
            continue;
          }
          // One message at a time: `only` leaves out the sessions that hold its id already.
          for (const forwarded of decodeBatch(data)) {
            messageId = forwarded.message.id;
            messages += routeForwarded(this.core.pipeline, this.outbox, [forwarded], only);
          }
        } catch (err) {
          this.malformed.note('inbox', (err as Error).message, { entry: id.toString() });
        }
      }
      if (page.length === 0) return messages;
      const last = page[page.length - 1]![0].toString();
      if (name !== undefined) this.cursors.set(name, last);
      await this.core.persistence?.store.commit();
      if (page.length < PAGE) return messages;
      start = `(${last}`;
    }
  }
}
