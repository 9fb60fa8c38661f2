import { splitLevels, startsWithDollar } from './match.js';
import { parseSharedFilter } from './shared-filter.js';
import { Group, type SharedGroup, SubscriptionNode } from './subscription-node.js';

export type { SharedGroup } from './subscription-node.js';

type EntryVisitor<T> = (key: string, value: T, filter: string) => void;
type GroupVisitor<T> = (group: SharedGroup<T>) => void;

const ignore = (): void => {};

/**
 * The per-match working state: the topic's levels, an explicit DFS stack (a topic may have
 * thousands of levels, too deep for recursion) and the callbacks. One is kept per trie and
 * reused, so a match allocates nothing but the level strings; a callback that re-enters
 * `match` on the same trie gets a fresh one.
 */
class MatchScratch<T> {
  levels: string[] = [];
  nodes: (SubscriptionNode<T> | undefined)[] = [];
  depths: number[] = [];
  onEntry: EntryVisitor<T> = ignore;
  onGroup: GroupVisitor<T> = ignore;
  /** The filter of the node whose entries are being visited. */
  filter = '';
  busy = false;
}

// Named functions with `this` bound through Map.forEach's thisArg: no closure per visit.
function visitEntry<T>(this: MatchScratch<T>, value: T, key: string): void {
  this.onEntry(key, value, this.filter);
}
function visitGroup<T>(this: MatchScratch<T>, group: Group<T>): void {
  this.onGroup(group);
}

/**
 * Subscriptions by topic filter, each keyed by subscriber (client id), with MQTT 5.0 shared
 * subscriptions (section 4.8.2) kept as groups at the node of their inner filter.
 */
export class SubscriptionTrie<T> {
  private readonly root = new SubscriptionNode<T>();
  private readonly scratch = new MatchScratch<T>();
  private count = 0;
  private sharedCount = 0;

  /** Number of (filter, key) entries, shared included. */
  get size(): number {
    return this.count;
  }

  /** Number of (shared filter, key) entries: the members of every `$share` group. */
  get sharedSize(): number {
    return this.sharedCount;
  }

  /**
   * Adds or replaces the entry of `key` under `filter`, which may be a `$share/g/f` filter
   * (stored in group g at f). Returns true when the (filter, key) pair is new, false when
   * it replaced an entry.
   */
  add(filter: string, key: string, value: T): boolean {
    const shared = parseSharedFilter(filter);
    const inner = shared === undefined ? filter : shared.filter;
    let node = this.root;
    let start = 0;
    for (;;) {
      const end = inner.indexOf('/', start);
      node = node.filterChildOrCreate(end === -1 ? inner.slice(start) : inner.slice(start, end));
      if (end === -1) break;
      start = end + 1;
    }
    node.filter ??= inner;
    let isNew: boolean;
    if (shared === undefined) {
      isNew = node.setEntry(key, value);
    } else {
      node.groups ??= new Map();
      let group = node.groups.get(shared.group);
      if (group === undefined) {
        group = new Group<T>(shared.group, inner, filter);
        node.groups.set(shared.group, group);
      }
      isNew = !group.members.has(key);
      group.members.set(key, value);
    }
    if (isNew) {
      this.count++;
      if (shared !== undefined) this.sharedCount++;
    }
    return isNew;
  }

  /** Removes the entry of `key` under `filter`; returns whether it existed. Prunes empty nodes. */
  remove(filter: string, key: string): boolean {
    const shared = parseSharedFilter(filter);
    const levels = (shared === undefined ? filter : shared.filter).split('/');
    const path: SubscriptionNode<T>[] = [this.root];
    for (const level of levels) {
      const next = path[path.length - 1].filterChild(level);
      if (next === undefined) return false;
      path.push(next);
    }
    const node = path[path.length - 1];
    if (!this.removeAt(node, shared?.group, key)) return false;
    this.count--;
    if (shared !== undefined) this.sharedCount--;
    if (node.holdsNothing()) node.filter = undefined;
    for (let i = path.length - 1; i > 0 && path[i].isPrunable(); i--) {
      path[i - 1].deleteFilterChild(levels[i - 1]);
    }
    return true;
  }

  /** The value of `key` under `filter` (which may be a `$share` filter). */
  get(filter: string, key: string): T | undefined {
    const shared = parseSharedFilter(filter);
    const node = this.findNode(shared === undefined ? filter : shared.filter);
    if (node === undefined) return undefined;
    if (shared === undefined) return node.getEntry(key);
    return node.groups?.get(shared.group)?.members.get(key);
  }

  /**
   * Calls `onEntry` for each non-shared entry whose filter matches `topic` (a subscriber
   * with two overlapping matching filters is visited twice, once per filter), and `onGroup`
   * once per matching shared group: the same group name under two matching filters is two
   * groups. Leading wildcards skip `$` topics [MQTT-4.7.2-1], for shared filters too.
   * Allocates nothing per call besides the topic's level strings.
   */
  match(topic: string, onEntry: EntryVisitor<T>, onGroup: GroupVisitor<T>): void {
    const s = this.scratch.busy ? new MatchScratch<T>() : this.scratch;
    s.busy = true;
    s.onEntry = onEntry;
    s.onGroup = onGroup;
    try {
      this.walk(s, splitLevels(topic, s.levels), startsWithDollar(topic));
    } finally {
      s.onEntry = ignore;
      s.onGroup = ignore;
      s.busy = false;
    }
  }

  /**
   * The DFS behind `match`. Each filter node is reached by one path only (a filter level is
   * either '+' or a literal), and a '#' node only from its parent, so each matching filter
   * is visited exactly once.
   */
  private walk(s: MatchScratch<T>, n: number, dollar: boolean): void {
    const { levels, nodes, depths } = s;
    nodes[0] = this.root;
    depths[0] = 0;
    let sp = 1;
    while (sp > 0) {
      sp--;
      let node = nodes[sp] as SubscriptionNode<T>;
      let i = depths[sp];
      nodes[sp] = undefined; // do not keep pruned nodes alive through the stack
      // Follow the literal path in place; only '+' branches go on the stack.
      for (;;) {
        if (i === n) {
          this.visit(s, node);
          // '#' also matches its parent level: 'a/#' matches 'a'.
          if (node.hash !== undefined) this.visit(s, node.hash);
          break;
        }
        // [MQTT-4.7.2-1] a filter starting with a wildcard never matches a '$' topic.
        if (i !== 0 || !dollar) {
          if (node.hash !== undefined) this.visit(s, node.hash);
          if (node.plus !== undefined) {
            nodes[sp] = node.plus;
            depths[sp] = i + 1;
            sp++;
          }
        }
        const next = node.child(levels[i]);
        if (next === undefined) break;
        node = next;
        i++;
      }
    }
  }

  private visit(s: MatchScratch<T>, node: SubscriptionNode<T>): void {
    if (node.soleKey !== undefined) {
      s.onEntry(node.soleKey, node.soleValue as T, node.filter as string);
    } else if (node.entries !== undefined) {
      s.filter = node.filter as string;
      node.entries.forEach(visitEntry<T>, s);
    }
    if (node.groups !== undefined) node.groups.forEach(visitGroup<T>, s);
  }

  private removeAt(node: SubscriptionNode<T>, group: string | undefined, key: string): boolean {
    if (group === undefined) return node.deleteEntry(key);
    const found = node.groups?.get(group);
    if (found === undefined || !found.members.delete(key)) return false;
    if (found.members.size === 0) {
      node.groups?.delete(group);
      if (node.groups?.size === 0) node.groups = undefined;
    }
    return true;
  }

  private findNode(filter: string): SubscriptionNode<T> | undefined {
    let node: SubscriptionNode<T> | undefined = this.root;
    let start = 0;
    for (;;) {
      const end = filter.indexOf('/', start);
      const level = end === -1 ? filter.slice(start) : filter.slice(start, end);
      node = node.filterChild(level);
      if (node === undefined || end === -1) return node;
      start = end + 1;
    }
  }
}
