const PLUS = 0x2b;
const HASH = 0x23;
const DOLLAR = 0x24;

/**
 * String methods called as constants (`charCodeAt.call(s, i)`): per message on the routing
 * path, and `s.method()` looks the method up on strings of every internal kind, a megamorphic
 * lookup (a call) each time. See the note in src/protocol/utf8.ts.
 */
const { charCodeAt, indexOf, slice } = String.prototype;

/**
 * True when the topic name `topic` matches the topic filter `filter` (MQTT 3.1.1 / 5.0
 * section 4.7). Both are assumed valid (the codec validates them). Allocation-free.
 *
 * - `+` matches exactly one level, including an empty one.
 * - `#` matches its parent level and any number of child levels: `a/#` matches `a`.
 * - A filter starting with a wildcard never matches a topic starting with `$`
 *   [MQTT-4.7.2-1]; this applies at the first level only (`a/+` matches `a/$x`).
 * - No normalisation of either string [MQTT-4.7.3-4]: levels compare code unit by code unit.
 */
export function topicMatchesFilter(topic: string, filter: string): boolean {
  const first = filter.charCodeAt(0);
  // [MQTT-4.7.2-1]
  if ((first === PLUS || first === HASH) && topic.charCodeAt(0) === DOLLAR) return false;
  let f = 0; // start of the current filter level
  let t = 0; // start of the current topic level; -1 once the topic has no level left
  for (;;) {
    let fe = filter.indexOf('/', f);
    if (fe === -1) fe = filter.length;
    const oneChar = fe - f === 1;
    // '#' is always the last filter level; it matches what is left, even nothing.
    if (oneChar && filter.charCodeAt(f) === HASH) return true;
    if (t === -1) return false;
    let te = topic.indexOf('/', t);
    if (te === -1) te = topic.length;
    if (!(oneChar && filter.charCodeAt(f) === PLUS) && !sameLevel(topic, t, te, filter, f, fe)) {
      return false;
    }
    const topicDone = te === topic.length;
    if (fe === filter.length) return topicDone;
    f = fe + 1;
    t = topicDone ? -1 : te + 1;
  }
}

function sameLevel(a: string, as: number, ae: number, b: string, bs: number, be: number): boolean {
  if (ae - as !== be - bs) return false;
  for (let i = 0; i < ae - as; i++) {
    if (a.charCodeAt(as + i) !== b.charCodeAt(bs + i)) return false;
  }
  return true;
}

/**
 * Writes the levels of `s` (split on '/', empty levels kept) into `out` from index 0 and
 * returns their count, so a hot path can reuse one array instead of `split('/')`.
 */
export function splitLevels(s: string, out: string[]): number {
  let n = 0;
  let start = 0;
  for (;;) {
    const end = indexOf.call(s, '/', start);
    if (end === -1) {
      out[n++] = slice.call(s, start);
      return n;
    }
    out[n++] = slice.call(s, start, end);
    start = end + 1;
  }
}

/** True when `s` starts with '$' (a topic the leading wildcards never match). */
export function startsWithDollar(s: string): boolean {
  return charCodeAt.call(s, 0) === DOLLAR;
}
