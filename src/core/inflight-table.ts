/**
 * The inflight window's entries by packet id, in the order they were added: a Map that
 * allocates nothing while its size stays within what it has held before. V8's Map gives its
 * hash table back and builds a new one whenever it empties or has taken as many deletions as
 * it has room for (~150 B each time); a QoS 1 subscriber that acknowledges each message before
 * the next one comes empties its window once per message (issue #17).
 *
 * Cells hold the entries and never move: the order is a doubly linked list through them, and
 * an open-addressing table of cell numbers (linear probing on the packet id, deletion by
 * backward shift, so no tombstones) finds one by packet id. Arrays grow by doubling when the
 * entries outgrow them, and go back to their first size only when a table that grew past
 * {@link KEEP_CELLS} empties, so a burst does not hold its memory for the session's life.
 */

/** What the table needs of its values. */
interface WithPacketId {
  readonly packetId: number;
}

/** Cells a new table has room for; the lookup table has twice as many slots. */
const FIRST_CELLS = 4;
/** An emptied table with more cells than this goes back to {@link FIRST_CELLS}. */
const KEEP_CELLS = 64;
/** No cell (end of the order, empty slot in the free stack). */
const NONE = -1;

/** Packet id -> entry, in insertion order; read as a ReadonlyMap. */
export class InflightTable<E extends WithPacketId> implements ReadonlyMap<number, E> {
  /** The entry of each cell; undefined for a free cell. */
  private cells: (E | undefined)[] = [];
  private prev: number[] = [];
  private next: number[] = [];
  /** Lookup slots: cell + 1, or 0 for an empty slot. Length a power of two. */
  private slots: number[] = [];
  /** Free cells, a stack: `free[0..freeTop)`. */
  private free: number[] = [];
  private freeTop = 0;
  private head = NONE;
  private tail = NONE;
  private count = 0;

  constructor() {
    this.reset(FIRST_CELLS);
  }

  get size(): number {
    return this.count;
  }

  get(packetId: number): E | undefined {
    const cell = this.cellOf(packetId);
    return cell === NONE ? undefined : this.cells[cell];
  }

  has(packetId: number): boolean {
    return this.cellOf(packetId) !== NONE;
  }

  /** Adds `entry` last; its packet id must not be in the table. */
  add(entry: E): void {
    if (this.freeTop === 0) this.grow();
    const cell = this.free[--this.freeTop] as number;
    this.cells[cell] = entry;
    this.prev[cell] = this.tail;
    this.next[cell] = NONE;
    if (this.tail === NONE) this.head = cell;
    else this.next[this.tail] = cell;
    this.tail = cell;
    this.count++;
    const mask = this.slots.length - 1;
    let i = entry.packetId & mask;
    while (this.slots[i] !== 0) i = (i + 1) & mask;
    this.slots[i] = cell + 1;
  }

  /**
   * Removes the entry of `packetId`; true if there was one. The removed cell keeps its link to
   * the next one until it is reused, so an iteration may remove the entry it is at.
   */
  delete(packetId: number): boolean {
    const slot = this.slotOf(packetId);
    if (slot === NONE) return false;
    const cell = (this.slots[slot] as number) - 1;
    this.unslot(slot);
    const before = this.prev[cell] as number;
    const after = this.next[cell] as number;
    if (before === NONE) this.head = after;
    else this.next[before] = after;
    if (after === NONE) this.tail = before;
    else this.prev[after] = before;
    this.cells[cell] = undefined;
    this.free[this.freeTop++] = cell;
    if (--this.count === 0 && this.cells.length > KEEP_CELLS) this.reset(FIRST_CELLS);
    return true;
  }

  /** Entries in insertion order. Removing the entry just returned is allowed meanwhile. */
  *values(): MapIterator<E> {
    for (let cell = this.head; cell !== NONE; ) {
      const entry = this.cells[cell] as E;
      yield entry;
      // The cell was removed meanwhile: its next link still leads on, unless it was reused.
      cell = this.next[cell] as number;
    }
  }

  *keys(): MapIterator<number> {
    for (const entry of this.values()) yield entry.packetId;
  }

  *entries(): MapIterator<[number, E]> {
    for (const entry of this.values()) yield [entry.packetId, entry];
  }

  [Symbol.iterator](): MapIterator<[number, E]> {
    return this.entries();
  }

  forEach(
    fn: (value: E, key: number, map: ReadonlyMap<number, E>) => void,
    thisArg?: unknown,
  ): void {
    for (const entry of this.values()) fn.call(thisArg, entry, entry.packetId, this);
  }

  /** The slot holding `packetId`, or NONE. */
  private slotOf(packetId: number): number {
    const slots = this.slots;
    const mask = slots.length - 1;
    for (let i = packetId & mask; ; i = (i + 1) & mask) {
      const s = slots[i] as number;
      if (s === 0) return NONE;
      if ((this.cells[s - 1] as E).packetId === packetId) return i;
    }
  }

  private cellOf(packetId: number): number {
    const slot = this.slotOf(packetId);
    return slot === NONE ? NONE : (this.slots[slot] as number) - 1;
  }

  /** Empties `slot`, moving back the entries after it that probed past it. */
  private unslot(slot: number): void {
    const slots = this.slots;
    const mask = slots.length - 1;
    let hole = slot;
    for (let i = (slot + 1) & mask; slots[i] !== 0; i = (i + 1) & mask) {
      const home = (this.cells[(slots[i] as number) - 1] as E).packetId & mask;
      // Movable into the hole when its home is not in (hole, i], cyclically.
      const between = hole <= i ? home > hole && home <= i : home > hole || home <= i;
      if (!between) {
        slots[hole] = slots[i] as number;
        hole = i;
      }
    }
    slots[hole] = 0;
  }

  /** Doubles the cells (all are in use), keeping the order and the free cells' links. */
  private grow(): void {
    const used = this.cells.length;
    const cells = used * 2;
    for (let c = used; c < cells; c++) {
      this.cells.push(undefined);
      this.prev.push(NONE);
      this.next.push(NONE);
      this.free.push(0);
    }
    // New free cells, lowest on top of the stack.
    for (let c = cells - 1; c >= used; c--) this.free[this.freeTop++] = c;
    const slots = new Array<number>(cells * 2).fill(0);
    const mask = slots.length - 1;
    for (let c = 0; c < used; c++) {
      let i = (this.cells[c] as E).packetId & mask;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = c + 1;
    }
    this.slots = slots;
  }

  /** Empty, with room for `cells` entries. */
  private reset(cells: number): void {
    this.cells = new Array<E | undefined>(cells).fill(undefined);
    this.prev = new Array<number>(cells).fill(NONE);
    this.next = new Array<number>(cells).fill(NONE);
    this.slots = new Array<number>(cells * 2).fill(0);
    this.free = new Array<number>(cells).fill(0);
    for (let c = 0; c < cells; c++) this.free[c] = cells - 1 - c;
    this.freeTop = cells;
    this.head = NONE;
    this.tail = NONE;
    this.count = 0;
  }
}
