/** The literal first level of every shared subscription filter, with its separator. */
export const SHARE_PREFIX = '$share/';

/**
 * Splits a shared subscription filter `$share/{group}/{filter}` (MQTT 5.0 section 4.8.2)
 * into its ShareName and the filter it shares.
 *
 * Returns `undefined` for a non-shared filter. The input is assumed to have passed the
 * codec's filter validation ([MQTT-4.8.2-1], [MQTT-4.8.2-2]); a malformed `$share` filter
 * (no group, no `/` after it, or an empty inner filter) also yields `undefined` so that
 * callers never see an empty group or filter.
 */
export function parseSharedFilter(filter: string): { group: string; filter: string } | undefined {
  if (!filter.startsWith(SHARE_PREFIX)) return undefined;
  const slash = filter.indexOf('/', SHARE_PREFIX.length);
  // [MQTT-4.8.2-1] a ShareName of at least one character; [MQTT-4.8.2-2] followed by '/'
  // and a Topic Filter.
  if (slash <= SHARE_PREFIX.length || slash === filter.length - 1) return undefined;
  return { group: filter.slice(SHARE_PREFIX.length, slash), filter: filter.slice(slash + 1) };
}
