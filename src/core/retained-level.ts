/**
 * The levels of the retained messages' index (retained-index.ts) and the handling of their
 * children: a level's children are other levels or values, none, one, a list or a Map.
 */

/** What the index holds: a value that knows its topic. */
export interface Topical {
  readonly topic: string;
}

/** Children are kept in a list up to this many, in a Map beyond. */
const MAX_LIST = 16;
/** A Map of children becomes a list again at this size (not at once: churn at the edge). */
const MIN_MAP = 8;
const SLASH = 0x2f;

/**
 * A level that more than one stored topic passes through (or that holds a value and has
 * children): its children are levels or values.
 */
export class Level<V extends Topical> {
  /** None, one child, a list of children, or a Map by level. */
  kids: V | Level<V> | (V | Level<V>)[] | Map<string, V | Level<V>> | undefined = undefined;
  /** The value whose topic ends at this level. */
  value: V | undefined = undefined;

  constructor(
    /** This level's name (its key in a parent's Map). */
    readonly name: string,
  ) {}
}

export type Child<V extends Topical> = V | Level<V>;

/** Calls `fn` with each child of a level, whatever shape its children take. */
export function forEachKid<V extends Topical>(
  kids: Level<V>['kids'],
  fn: (kid: Child<V>) => void,
): void {
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
export function find<V extends Topical>(
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

/** Adds a child of a level new under `node` (whose children's levels begin at `start`). */
export function addKid<V extends Topical>(node: Level<V>, kid: Child<V>, start: number): void {
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

/** Puts `kid` where `old` was among `node`'s children (both of the same level). */
export function replaceKid<V extends Topical>(
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

/** Removes `old` from `node`'s children; a list of one becomes that child again. */
export function removeKid<V extends Topical>(node: Level<V>, old: Child<V>, start: number): void {
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
export function tidy<V extends Topical>(path: Level<V>[], starts: number[]): void {
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
