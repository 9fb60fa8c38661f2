/**
 * Message ids unique across the processes that share state (the nodes of a cluster, or one
 * broker across restarts): the node id in the high bits, a counter in the low bits, in one
 * safe integer. The store keeps `Message.id` as an integer key and continues after the last
 * id it holds (`continueAfter`), so ids also stay unique, and increasing per node, across a
 * restart.
 *
 * A node id is not an instance: in a cluster a node that is restarted (or killed, once its
 * lease is gone) may be given the same node id again, and the store's last id is one for the
 * whole cluster (another node's, most of the time), so continuing after it restarted the
 * counter at the first id of the range, and the ids of the earlier instance's messages were
 * handed out again while the store still held some of them (the Redis store keeps the first
 * body written under an id: the new message was stored as the old one, and lost). So a
 * cluster node numbers from blocks of ids it reserves in Redis, each block after every block
 * handed out before for its node id (src/cluster/message-id-blocks.ts): {@link MessageIds.use}
 * starts one, the next is asked for ({@link MessageIds.onLow}) once half of the one in use is
 * taken and is queued ({@link MessageIds.queue}) to follow it.
 *
 * Why not a string (node id + counter): the SQLite store's integer keys, and the Message,
 * stay as they are. Why 8 bits of node id: 2^45 ids per node is 3.5e13, about two years of
 * a node publishing 500,000 messages a second without a pause; 256 nodes is more than a
 * cluster of brokers sharing one store uses. Node 0 (a single broker) numbers its messages
 * 1, 2, 3... as Pipit always did, so existing stores continue where they were.
 */

/** Bits of the counter; the node id sits above them. */
export const COUNTER_BITS = 45;
/** Largest node id (ids stay below 2^53, JavaScript's safe integer range). */
export const MAX_NODE_ID = 2 ** (53 - COUNTER_BITS) - 1;

const NODE_SPAN = 2 ** COUNTER_BITS;

/**
 * Bits of a reserved block of ids: 16.7 million ids, half a minute at 500,000 messages a
 * second, so the next block (one round trip to Redis) is there long before it is needed, and
 * a node id can be claimed 2 million times before its blocks start again at the first.
 */
export const BLOCK_BITS = 24;
/** Blocks in one node's range of ids. */
export const BLOCKS_PER_NODE = 2 ** (COUNTER_BITS - BLOCK_BITS);
const BLOCK_SPAN = 2 ** BLOCK_BITS;

/** A run of ids reserved for one instance of a node: from `first` to `last`, both included. */
export interface IdBlock {
  readonly first: number;
  readonly last: number;
}

/**
 * The ids of the `count`-th block reserved for node `nodeId` (1 for the first): blocks follow
 * each other through the node's range, and start again at its first after the last.
 */
export function idBlock(nodeId: number, count: number): IdBlock {
  const index = (count - 1) % BLOCKS_PER_NODE;
  const start = nodeId * NODE_SPAN + index * BLOCK_SPAN;
  // The range's first id is `n * 2^45 + 1`, as without blocks (node 0 never hands out 0).
  return { first: index === 0 ? start + 1 : start, last: start + BLOCK_SPAN - 1 };
}

/** Hands out the ids of the messages one node creates. */
export class MessageIds {
  private node = 0;
  private firstId = 1;
  private lastId = NODE_SPAN - 1;
  private nextId = 1;
  /** The last id of the reserved block in use (undefined: none, the whole range is this node's). */
  private blockLast: number | undefined;
  /** The block that follows the one in use, once reserved. */
  private following: IdBlock | undefined;
  /** From this id on, {@link onLow} is called on each take until a block is queued. */
  private askFrom = Number.POSITIVE_INFINITY;
  /** Ids were handed out past the end of the reserved blocks (none was reserved in time). */
  private beyond = false;
  /**
   * Called when the next block should be reserved: on each {@link take} from the middle of
   * the block in use until one is {@link queue}d (the caller keeps one reservation under way).
   */
  onLow: (() => void) | undefined;

  constructor(nodeId = 0) {
    this.renumber(nodeId);
  }

  /** The node this generator numbers for. */
  get nodeId(): number {
    return this.node;
  }

  /** Lowest id of this node. */
  get first(): number {
    return this.firstId;
  }

  /** Highest id of this node. */
  get last(): number {
    return this.lastId;
  }

  /**
   * Numbers for node `nodeId` from now on, from the first id of its range. A cluster node
   * learns its node id when it claims one in the shared state, after the core was built and
   * before it makes a message.
   */
  renumber(nodeId: number): void {
    if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId > MAX_NODE_ID) {
      throw new RangeError(`node id must be an integer from 0 to ${MAX_NODE_ID}, not ${nodeId}`);
    }
    this.node = nodeId;
    this.firstId = nodeId * NODE_SPAN + 1;
    this.lastId = (nodeId + 1) * NODE_SPAN - 1;
    this.nextId = this.firstId;
    this.blockLast = undefined;
    this.following = undefined;
    this.beyond = false;
    this.askFrom = Number.POSITIVE_INFINITY;
  }

  /**
   * The next id. After the last id of the node's range it starts again at the first: by then
   * (2^45 messages later) no message of that age is held.
   */
  take(): number {
    const id = this.nextId;
    if (id === this.blockLast) this.nextBlock();
    else this.nextId = id === this.lastId ? this.firstId : id + 1;
    if (id >= this.askFrom) this.onLow?.();
    return id;
  }

  /** The id the next {@link take} hands out. */
  get position(): number {
    return this.nextId;
  }

  /** True once ids were handed out past the reserved blocks (the next came too late). */
  get pastReserved(): boolean {
    return this.beyond;
  }

  /**
   * Numbers from `block` (reserved for this node) from now on, and asks for the next one once
   * half of it is taken. An id handed out past the blocks that lies in `block` stays taken.
   */
  use(block: IdBlock): void {
    const inside = this.beyond && this.nextId >= block.first && this.nextId <= block.last;
    if (!inside) this.nextId = block.first;
    this.blockLast = block.last;
    this.following = undefined;
    this.beyond = false;
    this.askFrom = block.first + Math.floor((block.last - block.first) / 2);
  }

  /** The block reserved to follow the one in use (at once when that one is used up). */
  queue(block: IdBlock): void {
    if (this.beyond || this.blockLast === undefined) {
      this.use(block);
      return;
    }
    this.following = block;
    this.askFrom = Number.POSITIVE_INFINITY;
  }

  /** The block in use is used up: the queued one follows, else the ids run on past it. */
  private nextBlock(): void {
    const next = this.following;
    if (next !== undefined) {
      this.use(next);
      return;
    }
    const id = this.nextId;
    this.nextId = id === this.lastId ? this.firstId : id + 1;
    this.blockLast = undefined;
    this.beyond = true;
  }

  /** True when `id` was made by this node (or by the same node id in another process). */
  owns(id: number): boolean {
    return id >= this.first && id <= this.last;
  }

  /**
   * Makes every later id larger than `lastId`, the store's highest id, when it is one of this
   * node's (another node's is ignored: a store shared by a cluster keeps one last id for all
   * of them, which is why a cluster node reserves blocks, see the file comment).
   */
  continueAfter(lastId: number): void {
    if (this.owns(lastId) && lastId >= this.nextId) {
      this.nextId = lastId === this.last ? this.first : lastId + 1;
      // Past the reserved block (ids of this node stored beyond it: written before blocks
      // were reserved, or Redis lost its count): a block from here on is asked for at once.
      if (this.blockLast !== undefined && lastId >= this.blockLast) {
        this.blockLast = undefined;
        this.following = undefined;
        this.beyond = true;
        this.askFrom = this.firstId;
      }
    }
  }
}
