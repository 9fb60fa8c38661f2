/**
 * `$SYS`: the broker's own topics. Only the broker publishes there (a client's PUBLISH or will
 * to `$SYS` is refused, as Mosquitto does), and a filter starting with a wildcard never
 * matches it (MQTT 4.7.2, the subscription trie's rule in src/topic).
 */

/** `$`, the first character of every topic a leading wildcard does not match. */
const DOLLAR = 0x24;
/** `String.prototype.charCodeAt` called as a constant: see the note in src/protocol/utf8.ts. */
const charCodeAt = String.prototype.charCodeAt;

/** True for `$SYS` and every topic under it. One comparison for topics not starting with `$`. */
export function isSysTopic(topic: string): boolean {
  if (charCodeAt.call(topic, 0) !== DOLLAR) return false;
  return topic === '$SYS' || topic.startsWith('$SYS/');
}
