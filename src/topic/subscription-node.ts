import { LevelNode } from './level-node.js';

/** The subscribers of one shared subscription: one group name under one filter. */
export interface SharedGroup<T> {
  /** The ShareName. */
  readonly name: string;
  /** The filter without the `$share/{name}/` prefix. */
  readonly filter: string;
  /** The full `$share/{name}/{filter}` string. */
  readonly shareFilter: string;
  /** Subscriber key (client id) -> value, in insertion order. */
  readonly members: ReadonlyMap<string, T>;
  /**
   * Round-robin cursor the router may use and advance. The trie never changes it; members
   * come and go, so a reader takes it modulo `members.size`.
   */
  cursor: number;
}

/** The trie's own view of a group: the same object, with a writable member map. */
export class Group<T> implements SharedGroup<T> {
  readonly members = new Map<string, T>();
  cursor = 0;
  constructor(
    readonly name: string,
    readonly filter: string,
    readonly shareFilter: string,
  ) {}
}

/**
 * One filter level in the subscription trie. The '+' and '#' children have their own
 * fields (they are looked up on every level of every match); other levels live in the
 * inherited child slots. A node that ends at least one subscription holds its filter
 * string, its non-shared entries and its shared groups.
 */
export class SubscriptionNode<T> extends LevelNode<SubscriptionNode<T>> {
  plus: SubscriptionNode<T> | undefined = undefined;
  hash: SubscriptionNode<T> | undefined = undefined;
  /** The (inner) filter this node ends, while it holds entries or groups. */
  filter: string | undefined = undefined;
  /** The single non-shared entry, held inline while `entries` is undefined. */
  soleKey: string | undefined = undefined;
  soleValue: T | undefined = undefined;
  /** Non-shared entries once there have been two or more. */
  entries: Map<string, T> | undefined = undefined;
  /** Shared groups by ShareName. */
  groups: Map<string, Group<T>> | undefined = undefined;

  /** The wildcard-aware child lookup for one filter level. */
  filterChild(level: string): SubscriptionNode<T> | undefined {
    if (level === '+') return this.plus;
    if (level === '#') return this.hash;
    return this.child(level);
  }

  /** The child for one filter level, created when missing. */
  filterChildOrCreate(level: string): SubscriptionNode<T> {
    if (level === '+') return (this.plus ??= new SubscriptionNode<T>());
    if (level === '#') return (this.hash ??= new SubscriptionNode<T>());
    return this.childOrCreate(level, () => new SubscriptionNode<T>());
  }

  /** Removes the child for one filter level. */
  deleteFilterChild(level: string): void {
    if (level === '+') this.plus = undefined;
    else if (level === '#') this.hash = undefined;
    else this.deleteChild(level);
  }

  /** Adds or replaces a non-shared entry; true when `key` was new here. */
  setEntry(key: string, value: T): boolean {
    if (this.entries !== undefined) {
      const isNew = !this.entries.has(key);
      this.entries.set(key, value);
      return isNew;
    }
    if (this.soleKey === undefined || this.soleKey === key) {
      const isNew = this.soleKey === undefined;
      this.soleKey = key;
      this.soleValue = value;
      return isNew;
    }
    this.entries = new Map([[this.soleKey, this.soleValue as T]]);
    this.entries.set(key, value);
    this.soleKey = undefined;
    this.soleValue = undefined;
    return true;
  }

  getEntry(key: string): T | undefined {
    if (this.entries !== undefined) return this.entries.get(key);
    return this.soleKey === key ? this.soleValue : undefined;
  }

  /** Removes a non-shared entry; true when it existed. */
  deleteEntry(key: string): boolean {
    if (this.entries !== undefined) {
      const existed = this.entries.delete(key);
      if (this.entries.size === 0) this.entries = undefined;
      return existed;
    }
    if (this.soleKey !== key) return false;
    this.soleKey = undefined;
    this.soleValue = undefined;
    return true;
  }

  /** True when the node ends no subscription (its filter string can be released). */
  holdsNothing(): boolean {
    return this.soleKey === undefined && this.entries === undefined && this.groups === undefined;
  }

  /** True when the node ends no subscription and leads to none: it can be pruned. */
  isPrunable(): boolean {
    return (
      this.holdsNothing() &&
      this.plus === undefined &&
      this.hash === undefined &&
      this.hasNoChildren()
    );
  }
}
