/**
 * Source addresses as per-address limits see them. An IPv4 address (also written as an
 * IPv4-mapped IPv6 address) is its own key; an IPv6 address counts by its /64 prefix,
 * because one subscriber or host usually holds a whole /64 and can pick any address in it
 * for free, so counting single IPv6 addresses would limit nothing.
 */

/** True for 127.0.0.0/8 and ::1, also written as IPv4-mapped (::ffff:127.0.0.1). */
export function isLoopbackAddress(address: string): boolean {
  const a = address.toLowerCase();
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  if (v4.startsWith('127.') && !v4.includes(':')) return true;
  return a === '::1' || a === '0:0:0:0:0:0:0:1';
}

/**
 * The key per-address limits count `address` under: the IPv4 address, or `<first four
 * groups>::/64` for IPv6 (zone id dropped). An address that does not parse is its own key.
 */
export function addressKey(address: string): string {
  const a = address.toLowerCase();
  if (!a.includes(':')) return a;
  if (a.startsWith('::ffff:') && a.includes('.')) return a.slice(7);
  const groups = ipv6Groups(a);
  if (groups === undefined) return a;
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/** The eight groups of an IPv6 address without leading zeros, or undefined. */
function ipv6Groups(address: string): string[] | undefined {
  const zone = address.indexOf('%');
  const text = zone >= 0 ? address.slice(0, zone) : address;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  // A trailing dotted IPv4 part stands for two groups; it never reaches the /64 prefix.
  const width = (groups: string[]) => groups.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const missing = 8 - width(head) - width(tail);
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const all = [...head, ...new Array<string>(missing).fill('0'), ...tail];
  return all.map((g) => g.replace(/^0+(?=.)/, ''));
}
