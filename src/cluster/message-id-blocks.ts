/**
 * Message ids that stay unique when a node id is claimed again (issue #11: nothing
 * acknowledged is lost when a node dies). A message id is the node id in the high bits and a
 * counter (src/core/message-ids.ts); a node id is held by one instance at a time, but a node
 * killed and restarted (or one configured with `cluster.nodeId`) claims it again once the
 * lease is gone. The new instance used to count from the store's last id, which is one for
 * the whole cluster and most of the time another node's, so it counted from the first id of
 * its range again, handing out the ids of the earlier instance's messages. Where the store
 * still held one of them (an offline session's queue; a reference left behind by a node
 * killed between a dequeue and its release), the Redis store kept the old body under the id
 * (`HSETNX`) and the new message, acknowledged, was delivered as the old one: lost (the
 * crash loop lost one QoS 1 message of 13,474 that way; with node ids reused on purpose, 4
 * of 16,987, each stored over an old body).
 *
 * So each instance numbers from blocks of ids it reserves in Redis: `idblocks:<node id>`
 * counts the blocks handed out for that node id, and a reservation takes the next count (a
 * script: the count goes up by one, and at least to the node's floor, below). The first block
 * is reserved when the node joins, before it makes a message; the next one is asked for once
 * half of the block in use is taken (a block is 2^24 ids), and queued to follow it. An
 * instance so never hands out an id of a block an earlier instance of its node id reserved.
 *
 * The floor: a node asks for a count at least past the block it is in and, when the store
 * held ids of its own beyond that block (`MessageIds.continueAfter`: written before blocks
 * were reserved, by the earlier version, or a Redis that lost the count while the store kept
 * its data), past the block of those ids. If no block came in time (Redis unreachable while a
 * whole half block, 8 million messages, was taken), the ids run on past the block, logged: a
 * later instance of the node id could hand them out again.
 *
 * Not covered: the first instance of a node id after an upgrade from a version without blocks
 * starts at the first block, so it may still hand out ids that the instance before the
 * upgrade left in the store, unless its node held the store's last id (the floor above); once,
 * as before this file existed.
 */
import {
  BLOCK_BITS,
  BLOCKS_PER_NODE,
  COUNTER_BITS,
  idBlock,
  type MessageIds,
} from '../core/index.js';
import type { Logger } from '../ports/index.js';
import type { RedisClient } from '../redis/redis-client.js';
import type { ClusterKeys } from './keys.js';

/** How long after a failed reservation the next one is tried (ms). */
const RETRY_MS = 1000;

/**
 * Takes the next block count of a node id: one more than the count stored, and at least
 * ARGV[1]. A value that is not a count (garbage) counts as 0 and is reported (2nd result).
 */
const RESERVE = `
local raw = redis.pcall('GET', KEYS[1])
local count = 0
local garbage = 0
if type(raw) == 'string' then
  count = tonumber(raw)
  if count == nil or count < 0 or count ~= math.floor(count) then count = 0; garbage = 1 end
elseif type(raw) == 'table' then garbage = 1 end
count = math.max(count + 1, tonumber(ARGV[1]))
redis.call('SET', KEYS[1], string.format('%d', count))
return {count, garbage}`;

/** Reserves the blocks of message ids one node numbers from. */
export class MessageIdBlocks {
  /** Blocks counted for this node id so far, as of this node's last reservation. */
  private count = 0;
  private reserving = false;
  private retryAt = 0;
  private warnedPast = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: ClusterKeys,
    private readonly ids: MessageIds,
    private readonly logger: Logger,
  ) {}

  /**
   * Numbers for `nodeId` (just claimed) from a block reserved now, and asks for the next one
   * as the ids run. @throws when Redis cannot be reached (the node does not join).
   */
  async start(nodeId: number): Promise<void> {
    this.ids.renumber(nodeId);
    this.ids.use(await this.reserve());
    this.ids.onLow = () => this.reserveNext();
  }

  private reserveNext(): void {
    // A node that left (its connection ended) reserves nothing more.
    if (this.reserving || this.redis.status === 'end' || Date.now() < this.retryAt) return;
    if (this.ids.pastReserved && !this.warnedPast) {
      this.warnedPast = true;
      this.logger.warn(
        { nodeId: this.ids.nodeId, position: this.ids.position },
        'cluster: message ids handed out past the reserved block (Redis did not answer in time); a later instance of this node id may hand them out again',
      );
    }
    this.reserving = true;
    this.reserve().then(
      (block) => {
        this.reserving = false;
        this.warnedPast = false;
        this.ids.queue(block);
      },
      (err: unknown) => {
        this.reserving = false;
        this.retryAt = Date.now() + RETRY_MS;
        this.logger.warn(
          { err: String(err), nodeId: this.ids.nodeId },
          'cluster: reserving the next block of message ids failed; tried again',
        );
      },
    );
  }

  /** The next block for this node id, past every block handed out for it before. */
  private async reserve() {
    const nodeId = this.ids.nodeId;
    const [count, garbage] = (await this.redis.eval(
      RESERVE,
      1,
      this.keys.idBlocks(nodeId),
      String(this.floor()),
    )) as [number, number];
    if (garbage === 1) {
      this.logger.warn(
        { nodeId, key: this.keys.idBlocks(nodeId), count },
        'cluster: the count of reserved message id blocks was not a count; counted again from here',
      );
    }
    this.count = count;
    return idBlock(nodeId, count);
  }

  /** The lowest count the next block may have: past the one in use and the one ids are at. */
  private floor(): number {
    const offset = this.ids.position - this.ids.nodeId * 2 ** COUNTER_BITS;
    const index = Math.floor(offset / 2 ** BLOCK_BITS);
    const lap = this.count === 0 ? 0 : Math.floor((this.count - 1) / BLOCKS_PER_NODE);
    // The block the ids are at, in this lap of the range (its count is index + 1 there).
    const at = lap * BLOCKS_PER_NODE + index + 1;
    return Math.max(this.count + 1, this.ids.pastReserved ? at : 0);
  }
}
