/**
 * Message ids unique across the processes that share state (the nodes of a cluster, or one
 * broker across restarts): the node id in the high bits, a counter in the low bits, in one
 * safe integer. The store keeps `Message.id` as an integer key and continues after the last
 * id it holds (`continueAfter`), so ids also stay unique, and increasing per node, across a
 * restart.
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

/** Hands out the ids of the messages one node creates. */
export class MessageIds {
  /** The node this generator numbers for. */
  readonly nodeId: number;
  /** Lowest id of this node. */
  readonly first: number;
  /** Highest id of this node. */
  readonly last: number;
  private nextId: number;

  constructor(nodeId = 0) {
    if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId > MAX_NODE_ID) {
      throw new RangeError(`node id must be an integer from 0 to ${MAX_NODE_ID}, not ${nodeId}`);
    }
    this.nodeId = nodeId;
    this.first = nodeId * NODE_SPAN + 1;
    this.last = (nodeId + 1) * NODE_SPAN - 1;
    this.nextId = this.first;
  }

  /**
   * The next id. After the last id of the node's range it starts again at the first: by then
   * (2^45 messages later) no message of that age is held.
   */
  take(): number {
    const id = this.nextId;
    this.nextId = id === this.last ? this.first : id + 1;
    return id;
  }

  /** True when `id` was made by this node (or by the same node id in another process). */
  owns(id: number): boolean {
    return id >= this.first && id <= this.last;
  }

  /**
   * Makes every later id larger than `lastId`, the highest id of this node in the store
   * (ids of other nodes are ignored: a shared store reports each node its own).
   */
  continueAfter(lastId: number): void {
    if (this.owns(lastId) && lastId >= this.nextId) {
      this.nextId = lastId === this.last ? this.first : lastId + 1;
    }
  }
}
