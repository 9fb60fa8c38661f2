/**
 * Tag syntax and version markers: what counts as a statement tag in a text, and which
 * protocol version a piece of text names. The attribution rule built on them is documented
 * in docs/conformance.md ("How a tag is attributed to a version").
 */
import type { Version } from './statements.js';

/** One tag found in a text. */
export interface TagMatch {
  /** The id inside the brackets, or the whole quoted literal. */
  id: string;
  /** Offset of the match in the text. */
  index: number;
  /** Offset just past the match. */
  end: number;
}

/** Bracketed tags: `[MQTT-3.3.1-5]`, `[MQTT31-2]`, and malformed ones such as `[MQTT-3.8.4-?]`. */
const BRACKETED = /\[(MQTT(?:31)?-[^\]\s]*)\]/g;
/** A section reference written like a tag (`[MQTT-4.11]`): not a statement id, not checked. */
const SECTION_REFERENCE = /^MQTT-\d+(\.\d+){1,2}$/;

/** Bracketed tags in `text`, section references left out. */
export function findBracketedTags(text: string): TagMatch[] {
  const out: TagMatch[] = [];
  for (const m of text.matchAll(BRACKETED)) {
    const id = m[1]!;
    if (SECTION_REFERENCE.test(id)) continue;
    out.push({ id, index: m.index, end: m.index + m[0].length });
  }
  return out;
}

/** A tag with the version qualifier that may follow it: neither names the text's version. */
const TAG_AND_QUALIFIER =
  /\[MQTT(?:31)?-[^\]\s]*\](?:\s*\((?:v5|5\.0|v3|v3\.1\.1|3\.1\.1|v3\.1|3\.1)(?: ids?)?\))?/g;

const NAMES_V5 = /\bv5\b|\b5\.0\b|\bMQTT ?5\b/i;
const NAMES_V3 = /\bv3(?:\.1(?:\.1)?)?\b|\b3\.1\.1\b|\bMQTT ?3\.1(?:\.1)?\b|\bv311\b|\bMQIsdp\b/i;

/** What a text says about versions: one of them, both, or nothing. */
export type VersionMention = '3.1.1' | '5.0' | 'both' | undefined;

/**
 * The version a text names, tags and their qualifiers removed first. MQTT 3.1 counts as 3.1.1 here: the 3.1.1
 * statements apply to 3.1 connections, and the 3.1 differences have ids of their own.
 */
export function mentionedVersion(text: string): VersionMention {
  const plain = text.replace(TAG_AND_QUALIFIER, ' ');
  const v5 = NAMES_V5.test(plain);
  const v3 = NAMES_V3.test(plain);
  if (v5 && v3) return 'both';
  if (v5) return '5.0';
  if (v3) return '3.1.1';
  return undefined;
}

/** The version a test file's name names (`v5-auth.test.ts`, `v311-connect.test.ts`). */
export function fileVersion(path: string): VersionMention {
  const base = path.slice(path.lastIndexOf('/') + 1);
  if (/(^|[-_.])v5([-_.]|$)/.test(base)) return '5.0';
  if (/(^|[-_.])v31{1,2}([-_.]|$)/.test(base)) return '3.1.1';
  return undefined;
}

const QUALIFIER = /^\s*\((v5|5\.0|v3|v3\.1\.1|3\.1\.1|v3\.1|3\.1)(?: ids?)?\)/;

/**
 * A version written in parentheses right after a run of tags, as in `[MQTT-3.3.1-10]
 * [MQTT-3.3.1-11] (3.1.1 ids)`: it qualifies every tag of the run. Returns one entry per tag.
 */
export function qualifiers(text: string, tags: TagMatch[]): VersionMention[] {
  const out: VersionMention[] = new Array(tags.length).fill(undefined);
  let runStart = 0;
  for (let i = 0; i < tags.length; i++) {
    const next = tags[i + 1];
    if (next && text.slice(tags[i]!.end, next.index).trim() === '') continue;
    const m = QUALIFIER.exec(text.slice(tags[i]!.end));
    if (m) {
      const version = m[1]!.includes('5') ? '5.0' : '3.1.1';
      for (let j = runStart; j <= i; j++) out[j] = version;
    }
    runStart = i + 1;
  }
  return out;
}

/** Versions named by the first mention that says anything, or undefined (every version). */
export function firstMention(mentions: VersionMention[]): Version[] | undefined {
  for (const m of mentions) {
    if (m === 'both') return undefined;
    if (m) return [m];
  }
  return undefined;
}
