/**
 * The ACL file, in Mosquitto's `acl_file` syntax:
 *
 *   # comment
 *   topic [read|write|readwrite|deny] <filter>     before any `user` line: anonymous clients
 *   user <username>
 *   topic [read|write|readwrite|deny] <filter>     for that user
 *   pattern [read|write|readwrite|deny] <filter>   for every client, anywhere in the file;
 *                                                  a level that is exactly %c or %u becomes
 *                                                  the client id or username
 *
 * The access word is optional (default readwrite); the filter is the rest of the line, so it
 * may contain spaces when the access word is given. Semantics (see docs/security.md):
 * - a client gets the topic rules of its user block (anonymous ones without a username) plus
 *   every pattern rule; no matching grant means deny;
 * - any matching deny wins over any grant (Mosquitto lets a user's `topic` grant win over a
 *   `pattern deny`; Pipit does not);
 * - nothing is ever writable under `$SYS`;
 * - subscribe needs one read/readwrite rule that covers the whole filter, and no deny rule
 *   covering it. A deny that covers only part of the filter is enforced per message by the
 *   `read` check at delivery.
 */
import { readFile } from 'node:fs/promises';
import {
  type AclClient,
  filterCoversFilter,
  filterMatchesTopic,
  isSubstitution,
  isValidFilter,
  isValidTopicName,
  splitLevels,
  substitutePattern,
} from './acl-match.js';
import { FileFormatError, splitLines } from './file-error.js';

/** What the broker asks about. */
export type AclAccess = 'read' | 'write' | 'subscribe';

const READ = 1;
const WRITE = 2;
const DENY = 0;

const ACCESS_WORDS = new Map<string, number>([
  ['read', READ],
  ['write', WRITE],
  ['readwrite', READ | WRITE],
  ['deny', DENY],
]);

/** One `topic` or `pattern` line. */
interface AclRule {
  /** Bit set of READ / WRITE; DENY (0) for a deny rule. */
  readonly access: number;
  readonly levels: readonly string[];
  /** A pattern rule with at least one %c / %u level. */
  readonly substitutes: boolean;
}

/** The rules, grouped the way they are applied. */
interface AclTables {
  anonymous: AclRule[];
  users: Map<string, AclRule[]>;
  patterns: AclRule[];
  warnings: string[];
}

interface ParseState extends AclTables {
  source: string;
  user: string | undefined;
}

const SHARE_PREFIX = '$share/';

/** `$share/<group>/<filter>` -> `<filter>`; the ACL is about the topics, not the group. */
function stripShare(filter: string): string | null {
  if (!filter.startsWith(SHARE_PREFIX)) return filter;
  const slash = filter.indexOf('/', SHARE_PREFIX.length);
  return slash < 0 ? null : filter.slice(slash + 1);
}

function splitFirstWord(text: string): [string, string] {
  const match = /^(\S+)\s*(.*)$/.exec(text);
  return match === null ? ['', ''] : [match[1], match[2].trim()];
}

function parseRule(rest: string, isPattern: boolean, state: ParseState, lineNo: number): AclRule {
  const [first, remainder] = splitFirstWord(rest);
  if (first === '') throw new FileFormatError(state.source, lineNo, 'missing topic');
  let access = READ | WRITE;
  let topic = first;
  if (remainder !== '') {
    const word = ACCESS_WORDS.get(first);
    if (word === undefined) {
      const problem = `unknown access "${first}" (expected read, write, readwrite or deny)`;
      throw new FileFormatError(state.source, lineNo, problem);
    }
    access = word;
    topic = remainder;
  }
  if (!isValidFilter(topic)) {
    throw new FileFormatError(state.source, lineNo, `invalid topic filter "${topic}"`);
  }
  const levels = splitLevels(topic);
  const rule = { access, levels, substitutes: isPattern && levels.some(isSubstitution) };
  warnAbout(rule, topic, isPattern, state, lineNo);
  return rule;
}

/** Lines that load but probably do not do what their author meant. */
function warnAbout(
  rule: AclRule,
  topic: string,
  isPattern: boolean,
  state: ParseState,
  lineNo: number,
): void {
  const warn = (text: string) => state.warnings.push(`${state.source}:${lineNo}: ${text}`);
  if (isPattern && !rule.substitutes) {
    warn(`pattern "${topic}" has no %c or %u level; it applies to every client`);
  }
  if (!isPattern && rule.levels.some(isSubstitution)) {
    warn(`topic "${topic}" is matched literally; use 'pattern' to substitute %c / %u`);
  }
  if (rule.levels.some((l) => !isSubstitution(l) && /%[cu]/.test(l))) {
    warn(`in "${topic}", %c / %u are substituted only when they are a whole level`);
  }
  if ((rule.access & WRITE) !== 0 && rule.levels[0] === '$SYS') {
    warn(`"${topic}" grants write under $SYS, which is always read-only`);
  }
}

function addTopicRule(state: ParseState, rule: AclRule): void {
  if (state.user === undefined) {
    state.anonymous.push(rule);
    return;
  }
  let list = state.users.get(state.user);
  if (list === undefined) state.users.set(state.user, (list = []));
  list.push(rule);
}

function parseLine(line: string, state: ParseState, lineNo: number): void {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return;
  const [keyword, rest] = splitFirstWord(text);
  if (keyword === 'topic') {
    addTopicRule(state, parseRule(rest, false, state, lineNo));
  } else if (keyword === 'pattern') {
    state.patterns.push(parseRule(rest, true, state, lineNo));
  } else if (keyword === 'user') {
    if (rest === '') throw new FileFormatError(state.source, lineNo, 'missing username');
    state.user = rest;
  } else {
    const problem = `unknown keyword "${keyword}" (expected topic, pattern or user)`;
    throw new FileFormatError(state.source, lineNo, problem);
  }
}

/** How many rules of a file depend on who the client is (see {@link AclFile.identityRules}). */
export interface AclIdentityRules {
  /** `user` blocks. */
  users: number;
  /** `pattern` rules with a `%u` level. */
  usernamePatterns: number;
  /** `pattern` rules with a `%c` level. */
  clientIdPatterns: number;
}

/** A parsed ACL file, answering access questions for one client at a time. */
export class AclFile {
  /** Lines that loaded but look like mistakes, as `<source>:<line>: <text>`. */
  readonly warnings: readonly string[];
  /**
   * Rules that depend on a username or client id. Without authentication on the listener
   * they protect nothing: `user` blocks and `%u` never apply to an unverified username,
   * and a `%c` grant goes to whoever picks that client id.
   */
  readonly identityRules: AclIdentityRules;
  private readonly tables: AclTables;

  private constructor(tables: AclTables) {
    this.tables = tables;
    this.warnings = tables.warnings;
    const has = (level: string) => tables.patterns.filter((r) => r.levels.includes(level)).length;
    this.identityRules = {
      users: tables.users.size,
      usernamePatterns: has('%u'),
      clientIdPatterns: has('%c'),
    };
  }

  /** Reads and parses a file. Errors name the file, the line and the problem. */
  static async load(path: string): Promise<AclFile> {
    return AclFile.parse(await readFile(path, 'utf8'), path);
  }

  /**
   * Parses file text; `source` labels errors and warnings (default `<acl file>`).
   * @throws FileFormatError for an unknown keyword or access word, a missing username or
   *   topic, or an invalid topic filter.
   */
  static parse(text: string, source = '<acl file>'): AclFile {
    const state: ParseState = {
      source,
      user: undefined,
      anonymous: [],
      users: new Map(),
      patterns: [],
      warnings: [],
    };
    splitLines(text).forEach((line, index) => {
      parseLine(line, state, index + 1);
    });
    const { anonymous, users, patterns, warnings } = state;
    return new AclFile({ anonymous, users, patterns, warnings });
  }

  /**
   * May this client publish to `topic` (write), receive a message on `topic` (read), or
   * subscribe with `filter` (subscribe: one read/readwrite rule must cover the whole filter
   * and no deny rule may cover it)? `$share/<group>/` is stripped from a subscribe filter.
   * Malformed topics and filters are refused. A client whose username is not verified
   * (`usernameVerified: false`) is checked as an anonymous client.
   */
  check(access: AclAccess, claimed: AclClient, topicOrFilter: string): boolean {
    // An unverified username is no identity: such a client gets what anonymous clients get.
    const client: AclClient =
      claimed.usernameVerified === false && claimed.username !== undefined
        ? { clientId: claimed.clientId }
        : claimed;
    const target = access === 'subscribe' ? stripShare(topicOrFilter) : topicOrFilter;
    if (target === null) return false;
    const valid = access === 'subscribe' ? isValidFilter(target) : isValidTopicName(target);
    if (!valid) return false;
    const levels = splitLevels(target);
    // $SYS is the broker's own voice: no ACL line can let a client write there.
    if (access === 'write' && levels[0] === '$SYS') return false;
    const hits =
      access === 'subscribe'
        ? (rule: readonly string[]) => filterCoversFilter(rule, levels)
        : (rule: readonly string[]) => filterMatchesTopic(rule, levels);
    const topicRules = this.topicRulesFor(client);
    if (this.denied(topicRules, client, hits)) return false;
    const need = access === 'write' ? WRITE : READ;
    return this.granted(topicRules, client, hits, need);
  }

  private topicRulesFor(client: AclClient): readonly AclRule[] {
    if (client.username === undefined) return this.tables.anonymous;
    return this.tables.users.get(client.username) ?? [];
  }

  private denied(
    topicRules: readonly AclRule[],
    client: AclClient,
    hits: (rule: readonly string[]) => boolean,
  ): boolean {
    for (const rule of topicRules) {
      if (rule.access === DENY && hits(rule.levels)) return true;
    }
    for (const rule of this.tables.patterns) {
      if (rule.access !== DENY) continue;
      const sub = rule.substitutes ? substitutePattern(rule.levels, client) : null;
      if (sub === null) {
        if (hits(rule.levels)) return true;
      } else if (sub.kind === 'exact') {
        if (hits(sub.levels)) return true;
      } else if (sub.kind === 'unsafe') {
        // Widened, not skipped: an odd username must not slip past a deny.
        if (hits([...sub.prefix, '#'])) return true;
      }
    }
    return false;
  }

  private granted(
    topicRules: readonly AclRule[],
    client: AclClient,
    hits: (rule: readonly string[]) => boolean,
    need: number,
  ): boolean {
    for (const rule of topicRules) {
      if ((rule.access & need) !== 0 && hits(rule.levels)) return true;
    }
    for (const rule of this.tables.patterns) {
      if ((rule.access & need) === 0) continue;
      if (!rule.substitutes) {
        if (hits(rule.levels)) return true;
        continue;
      }
      const sub = substitutePattern(rule.levels, client);
      if (sub.kind === 'exact' && hits(sub.levels)) return true;
    }
    return false;
  }
}
