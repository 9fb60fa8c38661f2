/**
 * Topic matching for ACL rules, on topics already split into levels.
 *
 * Three questions: does a rule filter match a topic name (publish, delivery)? Does a rule
 * filter cover a subscription filter, i.e. match every topic the subscription can match
 * (Mosquitto's "sub matches ACL")? And what does a `pattern` rule become for one client once
 * `%c` / `%u` are replaced?
 *
 * Kept free of the topic layer on purpose: ACL semantics (coverage of one filter by another,
 * pattern substitution) are not subscription-trie matters.
 */

/** Splits a topic name or filter into its levels ('a//b' has an empty middle level). */
export function splitLevels(topic: string): string[] {
  return topic.split('/');
}

function startsWithDollar(levels: readonly string[]): boolean {
  return levels[0].startsWith('$');
}

function isWildcard(level: string): boolean {
  return level === '+' || level === '#';
}

/**
 * A valid topic filter or topic name: the codec's rules (non-empty [MQTT-4.7.3-1], `#` last
 * and alone [MQTT-4.7.1-2], `+` alone in its level [MQTT-4.7.1-3], no U+0000, at most 65535
 * bytes), so an ACL accepts exactly what a client may send.
 */
export { isValidTopicFilter as isValidFilter, isValidTopicName } from '../protocol/index.js';

/**
 * Does `filter` match the topic name? `#` also matches the parent level ('a/#' matches 'a'),
 * `+` matches one level (possibly empty), and a filter starting with a wildcard never matches
 * a topic starting with '$' [MQTT-4.7.2-1].
 */
export function filterMatchesTopic(filter: readonly string[], topic: readonly string[]): boolean {
  if (startsWithDollar(topic) && isWildcard(filter[0])) return false; // [MQTT-4.7.2-1]
  for (let i = 0; i < filter.length; i++) {
    const f = filter[i];
    if (f === '#') return true;
    if (i >= topic.length) return false;
    if (f !== '+' && f !== topic[i]) return false;
  }
  return filter.length === topic.length;
}

/**
 * Does the ACL filter `acl` cover the subscription filter `sub`, i.e. is every topic that
 * `sub` can match also matched by `acl`? Level by level: `#` in the ACL covers whatever is
 * left (including nothing); `+` in the ACL covers any single level, `+` included, but not
 * `#`; a literal ACL level covers only the same literal. So 'a/#' covers 'a/+/b' and 'a',
 * 'a/+' does not cover 'a/#', and 'a/b' does not cover 'a/+'. The '$' rule applies: '#'
 * does not cover '$SYS/#'.
 */
export function filterCoversFilter(acl: readonly string[], sub: readonly string[]): boolean {
  if (startsWithDollar(sub) && isWildcard(acl[0])) return false; // [MQTT-4.7.2-1]
  for (let i = 0; i < acl.length; i++) {
    const a = acl[i];
    if (a === '#') return true;
    if (i >= sub.length) return false;
    const s = sub[i];
    if (s === '#') return false;
    if (a !== '+' && a !== s) return false;
  }
  return acl.length === sub.length;
}

/** The identity that `%c` and `%u` stand for. */
export interface AclClient {
  clientId: string;
  username?: string | undefined;
  /**
   * False when the username was only claimed, never checked (see ClientInfo): the client is
   * then anonymous to the ACL, its `user` block and `%u` never apply. Absent: the username
   * is taken as given (callers outside the hook chain).
   */
  usernameVerified?: boolean;
}

/** What a pattern rule turns into for one client. */
export type Substitution =
  /** Every `%c` / `%u` level replaced by a safe value: use `levels` as a normal filter. */
  | { kind: 'exact'; levels: string[] }
  /**
   * A value was empty or held '+', '#' or '/', which would widen or shift the match. The rule
   * must not grant anything; a deny rule applies to `prefix` + '#' (denying more, never less).
   */
  | { kind: 'unsafe'; prefix: string[] }
  /** `%u` with no username: the rule does not apply to this client. */
  | { kind: 'absent' };

/** True for a level that is exactly `%c` or `%u` (text around them is not substituted). */
export function isSubstitution(level: string): boolean {
  return level === '%c' || level === '%u';
}

function isUnsafeValue(value: string): boolean {
  return value.length === 0 || /[+#/]/.test(value);
}

/**
 * Replaces every level that is exactly `%c` (client id) or `%u` (username). A client whose id
 * or username is empty or contains '+', '#' or '/' is never substituted into a match: a
 * wildcard in a username must not turn `pattern read users/%u/#` into `users/#/#`
 * (CVE-2017-7650 in Mosquitto), nor a '/' move it into someone else's subtree.
 */
export function substitutePattern(levels: readonly string[], client: AclClient): Substitution {
  const out: string[] = [];
  for (const level of levels) {
    if (!isSubstitution(level)) {
      out.push(level);
      continue;
    }
    const value = level === '%c' ? client.clientId : client.username;
    if (value === undefined) return { kind: 'absent' };
    if (isUnsafeValue(value)) return { kind: 'unsafe', prefix: out };
    out.push(value);
  }
  return { kind: 'exact', levels: out };
}
