/**
 * The retained messages in memory: one value per topic, found by topic or by filter, in as
 * little heap as a tree of topic levels allows (bench/RESULTS.md "Retained message memory").
 *
 * A tree with an object per level and a Map of children per level costs about 140 B per
 * retained message on top of the message itself (a node, its level string, its Map entry).
 * Here a value hangs directly under the level where its topic parts from every other topic,
 * however many levels of its topic remain, so a topic that shares no deeper levels costs no
 * level object: `devices/17/status` is a child of `devices` until `devices/17/battery`
 * arrives and a level `17` is made for the two. The level of such a child is read from its
 * own topic, at the offset of its parent's children; so is its key. Children are a list
 * while there are at most {@link MAX_LIST} (found by comparing levels in place, no key
 * strings) and a Map beyond. What remains per message is its Message, its payload's Buffer
 * and, under a level with many children, one Map entry with its key.
 */
import { topicMatchesFilter } from '../topic/index.js';

/** What the index holds: a value that knows its topic. */
export interface Topical {
  readonly topic: string;
}

/** Children are kept in a list up to this many, in a Map beyond. */
const MAX_LIST = 16;
/** A Map of children becomes a list again at this size (not at once: churn at the edge). */
const MIN_MAP = 8;
const SLASH = 0x2f;
const DOLLAR = 0x24;

/**
 * A level that more than one stored topic passes through (or that holds a value and has
 * children): its children are levels or values.
 */
class Level<V extends Topical> {
  /** None, one child, a list of children, or a Map by level. */
  kids: V | Level<V> | (V | Level<V>)[] | Map<string, V | Level<V>> | undefined = undefined;
  /** The value whose topic ends at this level. */
  value: V | undefined = undefined;

  constructor(
    /** This level's name (its key in a parent's Map). */
    readonly name: string,
  ) {}
}

type Child<V extends Topical> = V | Level<V>;

/** One value per topic, found by exact topic or by topic filter. */
export class RetainedIndex<V extends Topical> {
  private readonly root = new Level<V>('');
  private count = 0;

  /** Number of values held. */
  get size(): number {
    return this.count;
  }

  /** The value of exactly `topic`. */
  get(topic: string): V | undefined {
    let node = this.root;
    let start = 0;
    for (;;) {
      const slash = topic.indexOf('/', start);
      const stop = slash === -1 ? topic.length : slash;
      const child = find(node, topic, start, stop);
      if (child === undefined) return undefined;
      if (!(child instanceof Level)) return child.topic === topic ? child : undefined;
      if (slash === -1) return child.value;
      node = child;
      start = stop + 1;
    }
  }

  /** Stores `value` under its topic; returns the value it replaced. */
  set(value: V): V | undefined {
    const topic = value.topic;
    let node = this.root;
    let start = 0;
    for (;;) {
      const slash = topic.indexOf('/', start);
      const stop = slash === -1 ? topic.length : slash;
      const child = find(node, topic, start, stop);
      if (child === undefined) {
        addKid(node, value, start);
        this.count++;
        return undefined;
      }
      if (child instanceof Level) {
        if (slash === -1) return this.putValue(child, value);
        node = child;
        start = stop + 1;
        continue;
      }
      if (child.topic === topic) {
        replaceKid(node, child, value, start);
        return child;
      }
      // Another topic through this level: the two part further down, under a level of their own.
      const level = new Level<V>(topic.slice(start, stop));
      if (child.topic.length === stop) level.value = child;
      else level.kids = child;
      replaceKid(node, child, level, start);
      if (slash === -1) return this.putValue(level, value);
      node = level;
      start = stop + 1;
    }
  }

  /** Removes the value of `topic`; returns it (undefined when there was none). */
  delete(topic: string): V | undefined {
    const path: Level<V>[] = [this.root];
    const starts: number[] = [0];
    let start = 0;
    for (;;) {
      const node = path[path.length - 1]!;
      const slash = topic.indexOf('/', start);
      const stop = slash === -1 ? topic.length : slash;
      const child = find(node, topic, start, stop);
      if (child === undefined) return undefined;
      if (child instanceof Level) {
        path.push(child);
        starts.push(stop + 1);
        if (slash !== -1) {
          start = stop + 1;
          continue;
        }
        const old = child.value;
        if (old === undefined) return undefined;
        child.value = undefined;
        this.count--;
        tidy(path, starts);
        return old;
      }
      if (child.topic !== topic) return undefined;
      removeKid(node, child, start);
      this.count--;
      tidy(path, starts);
      return child;
    }
  }

  /**
   * Appends to `out` every value whose topic matches `filter`: `+` is one level, `#` its
   * parent level and everything below, and a leading wildcard skips topics starting with
   * '$' [MQTT-4.7.2-1]. Only branches the filter can match are walked.
   */
  match(filter: string, out: V[]): void {
    if (filter.indexOf('+') === -1 && filter.indexOf('#') === -1) {
      const value = this.get(filter);
      if (value !== undefined) out.push(value);
      return;
    }
    const levels = filter.split('/');
    const walk: Walk<V> = { filter, levels, nodes: [this.root], depths: [0], starts: [0], out };
    while (walk.nodes.length > 0) {
      const node = walk.nodes.pop()!;
      const i = walk.depths.pop()!;
      const start = walk.starts.pop()!;
      if (i === levels.length) {
        if (node.value !== undefined) out.push(node.value);
        continue;
      }
      const level = levels[i]!;
      if (level === '#') {
        // The root holds no value: the parent-level match only matters below it.
        if (node.value !== undefined) out.push(node.value);
        collect(node, i === 0, out);
        continue;
      }
      const kids = node.kids;
      if (kids === undefined) continue;
      if (kids instanceof Map) {
        if (level !== '+') {
          const kid = kids.get(level);
          if (kid !== undefined) step(walk, kid, level, i, start);
        } else {
          for (const kid of kids.values()) step(walk, kid, level, i, start);
        }
      } else if (Array.isArray(kids)) {
        for (const kid of kids) step(walk, kid, level, i, start);
      } else {
        step(walk, kids, level, i, start);
      }
    }
  }

  /** Every value, in no particular order. */
  values(): V[] {
    const out: V[] = [];
    collect(this.root, false, out);
    return out;
  }

  private putValue(level: Level<V>, value: V): V | undefined {
    const old = level.value;
    level.value = value;
    if (old === undefined) this.count++;
    return old;
  }
}

/** The state of one {@link RetainedIndex.match}: levels still to visit, and what matched. */
interface Walk<V extends Topical> {
  readonly filter: string;
  readonly levels: string[];
  /** Levels to visit, with the index of the filter level their children are matched to. */
  readonly nodes: Level<V>[];
  readonly depths: number[];
  /** Where the levels of each node's children begin in their topics. */
  readonly starts: number[];
  readonly out: V[];
}

/**
 * A child met at filter level `i` (`level`, not '#'), its level beginning at `start` of its
 * topic: a level whose name fits goes on to the next filter level; a value whose level fits
 * is matched at once if its topic and the filter both end there, else the whole filter decides.
 */
function step<V extends Topical>(
  walk: Walk<V>,
  kid: Child<V>,
  level: string,
  i: number,
  start: number,
): void {
  if (kid instanceof Level) {
    if (level === '+') {
      // [MQTT-4.7.2-1] a leading '+' skips '$' levels.
      if (i === 0 && kid.name.charCodeAt(0) === DOLLAR) return;
    } else if (kid.name !== level) {
      return;
    }
    walk.nodes.push(kid);
    walk.depths.push(i + 1);
    walk.starts.push(start + kid.name.length + 1);
    return;
  }
  const topic = kid.topic;
  const slash = topic.indexOf('/', start);
  const end = slash === -1 ? topic.length : slash;
  if (level === '+') {
    if (i === 0 && topic.charCodeAt(0) === DOLLAR) return; // [MQTT-4.7.2-1]
  } else if (end - start !== level.length || !sameAt(topic, start, level)) {
    return;
  }
  // Its last level fits the filter's last: a match. Otherwise what follows decides ('a/#' matches 'a').
  if ((slash === -1 && i === walk.levels.length - 1) || topicMatchesFilter(topic, walk.filter)) {
    walk.out.push(kid);
  }
}

/** True when `topic` holds `level` at `start` (compared in place: no slice per child). */
function sameAt(topic: string, start: number, level: string): boolean {
  for (let j = 0; j < level.length; j++) {
    if (topic.charCodeAt(start + j) !== level.charCodeAt(j)) return false;
  }
  return true;
}

/** Appends every value at and below `top`'s children (skipping '$' children if asked). */
function collect<V extends Topical>(top: Level<V>, skipDollar: boolean, out: V[]): void {
  const stack: Level<V>[] = [];
  const take = (kid: Child<V>): void => {
    if (kid instanceof Level) stack.push(kid);
    else out.push(kid);
  };
  forEachKid(top.kids, (kid) => {
    const name = kid instanceof Level ? kid.name : kid.topic;
    if (!skipDollar || name.charCodeAt(0) !== DOLLAR) take(kid);
  });
  while (stack.length > 0) {
    const level = stack.pop()!;
    if (level.value !== undefined) out.push(level.value);
    forEachKid(level.kids, take);
  }
}

function forEachKid<V extends Topical>(kids: Level<V>['kids'], fn: (kid: Child<V>) => void): void {
  if (kids === undefined) return;
  if (kids instanceof Map) {
    for (const kid of kids.values()) fn(kid);
  } else if (Array.isArray(kids)) {
    for (const kid of kids) fn(kid);
  } else {
    fn(kids);
  }
}

/**
 * The child of `node` whose level is `topic[start, stop)`. The level is sliced once (a
 * slice and `===` beat comparing in place, measured), for a Map key or a level's name.
 */
function find<V extends Topical>(
  node: Level<V>,
  topic: string,
  start: number,
  stop: number,
): Child<V> | undefined {
  const kids = node.kids;
  if (kids === undefined) return undefined;
  const level = topic.slice(start, stop);
  if (kids instanceof Map) return kids.get(level);
  if (Array.isArray(kids)) {
    for (const kid of kids) if (hasLevel(kid, level, topic, start, stop)) return kid;
    return undefined;
  }
  return hasLevel(kids, level, topic, start, stop) ? kids : undefined;
}

/**
 * True when `kid`'s level is `level` (`topic[start, stop)`). A value's level is read from its
 * own topic at `start`: every topic under one level shares the levels before it.
 */
function hasLevel<V extends Topical>(
  kid: Child<V>,
  level: string,
  topic: string,
  start: number,
  stop: number,
): boolean {
  if (kid instanceof Level) return kid.name === level;
  const own = kid.topic;
  // Its level ends at `stop` too (charCodeAt past the end is NaN: a shorter topic fails).
  if (own.length !== stop && own.charCodeAt(stop) !== SLASH) return false;
  for (let i = start; i < stop; i++) if (own.charCodeAt(i) !== topic.charCodeAt(i)) return false;
  return true;
}

/** The key of `kid` in a Map of children whose levels start at `start`. */
function keyOf<V extends Topical>(kid: Child<V>, start: number): string {
  if (kid instanceof Level) return kid.name;
  const slash = kid.topic.indexOf('/', start);
  return slash === -1 ? kid.topic.slice(start) : kid.topic.slice(start, slash);
}

function addKid<V extends Topical>(node: Level<V>, kid: Child<V>, start: number): void {
  const kids = node.kids;
  if (kids === undefined) {
    node.kids = kid;
  } else if (kids instanceof Map) {
    kids.set(keyOf(kid, start), kid);
  } else if (!Array.isArray(kids)) {
    node.kids = [kids, kid];
  } else if (kids.length < MAX_LIST) {
    kids.push(kid);
  } else {
    const map = new Map<string, Child<V>>();
    for (const k of kids) map.set(keyOf(k, start), k);
    map.set(keyOf(kid, start), kid);
    node.kids = map;
  }
}

function replaceKid<V extends Topical>(
  node: Level<V>,
  old: Child<V>,
  kid: Child<V>,
  start: number,
): void {
  const kids = node.kids;
  if (kids instanceof Map) kids.set(keyOf(kid, start), kid);
  else if (Array.isArray(kids)) kids[kids.indexOf(old)] = kid;
  else node.kids = kid;
}

function removeKid<V extends Topical>(node: Level<V>, old: Child<V>, start: number): void {
  const kids = node.kids;
  if (kids instanceof Map) {
    kids.delete(keyOf(old, start));
    if (kids.size <= MIN_MAP) node.kids = [...kids.values()];
  } else if (Array.isArray(kids)) {
    kids.splice(kids.indexOf(old), 1);
  } else {
    node.kids = undefined;
  }
  const list = node.kids;
  if (Array.isArray(list) && list.length <= 1) node.kids = list[0];
}

/**
 * After a removal at the end of `path`: a level left with nothing goes, and a level left
 * with only a value, or only one value below it, is replaced by that value; up the path
 * while levels empty out. `starts[i]` is where the levels of `path[i]`'s children begin.
 */
function tidy<V extends Topical>(path: Level<V>[], starts: number[]): void {
  for (let i = path.length - 1; i > 0; i--) {
    const level = path[i]!;
    const parent = path[i - 1]!;
    const at = starts[i - 1]!;
    const kids = level.kids;
    const onlyKid = kids !== undefined && !(kids instanceof Map) && !Array.isArray(kids);
    if (level.value === undefined && kids === undefined) {
      removeKid(parent, level, at);
      continue;
    }
    if (level.value === undefined && onlyKid && !(kids instanceof Level)) {
      replaceKid(parent, level, kids, at);
    } else if (level.value !== undefined && kids === undefined) {
      replaceKid(parent, level, level.value, at);
    }
    return;
  }
}
