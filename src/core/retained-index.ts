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
 * while there are at most 16 (found by comparing levels in place, no key strings) and a
 * Map beyond (retained-level.ts). What remains per message is its Message, its payload's Buffer
 * and, under a level with many children, one Map entry with its key.
 */
import { topicMatchesFilter } from '../topic/index.js';
import {
  addKid,
  type Child,
  find,
  forEachKid,
  Level,
  removeKid,
  replaceKid,
  type Topical,
  tidy,
} from './retained-level.js';

export type { Topical } from './retained-level.js';

const DOLLAR = 0x24;
const SLASH = 0x2f;
/** Filter levels in a match's place (up to 32,767; deeper filters are tested value by value). */
const DEPTH_BITS = 15;
const DEPTH_MASK = (1 << DEPTH_BITS) - 1;
// Offsets in a topic (at most 65,535 bytes) take the other 16 bits of a small integer.

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
    if (levels.length > DEPTH_MASK) {
      // Too deep for a place's bits (a filter of 32,767 '/' or more): test every value.
      for (const value of this.values())
        if (topicMatchesFilter(value.topic, filter)) out.push(value);
      return;
    }
    const walk: Walk<V> = { filter, levels, nodes: [this.root], places: [0], out };
    while (walk.nodes.length > 0) {
      const node = walk.nodes.pop()!;
      const place = walk.places.pop()!;
      const i = place & DEPTH_MASK;
      const start = place >>> DEPTH_BITS;
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
  /**
   * For each of `nodes`: the filter level its children are matched to (low bits) and where
   * their levels begin in their topics (high bits): one array instead of two on a hot loop.
   */
  readonly places: number[];
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
    walk.places.push(((start + kid.name.length + 1) << DEPTH_BITS) | (i + 1));
    return;
  }
  const topic = kid.topic;
  let end: number;
  if (level === '+') {
    if (i === 0 && topic.charCodeAt(0) === DOLLAR) return; // [MQTT-4.7.2-1]
    end = topic.indexOf('/', start);
    if (end === -1) end = topic.length;
  } else {
    // Its level must be `level` and end there: the length first, then the characters.
    end = start + level.length;
    if (end > topic.length || (end < topic.length && topic.charCodeAt(end) !== SLASH)) return;
    if (!sameAt(topic, start, level)) return;
  }
  // Its last level fits the filter's last: a match. Otherwise what follows decides ('a/#' matches 'a').
  if (
    (end === topic.length && i === walk.levels.length - 1) ||
    topicMatchesFilter(topic, walk.filter)
  ) {
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
