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
  private node = 0;
  private firstId = 1;
  private lastId = NODE_SPAN - 1;
  private nextId = 1;

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
  }

  /**
   * The next id. After the last id of the node's range it starts again at the first: by then
   * (2^45 messages later) no message of that age is held.
   */
  take(): number {
    const id = this.nextId;
    this.nextId = id === this.lastId ? this.firstId : id + 1;
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
