/**
 * Which browser pages may open an MQTT WebSocket. A browser sends the page's origin in an
 * `Origin` header and lets any page connect anywhere, so without a check every web page open
 * on a machine could read and publish every topic of a WebSocket listener that machine can
 * reach (a localhost listener with anonymous access above all). Clients that are not browsers
 * send no Origin and are not concerned.
 *
 * The rule: no Origin header: accepted (not a browser). An Origin whose host and port equal
 * the request's Host header: accepted (the page was served by this same host and port). An
 * Origin in the listener's `allowedOrigins`: accepted (`*` accepts every origin). Anything
 * else: HTTP 403. The same-host rule does not stop DNS rebinding (a hostile name that
 * resolves to this host sends a matching Host); a listener that browsers reach by name
 * should list its origins.
 */

/** The compiled `allowedOrigins` of one listener. */
export interface OriginPolicy {
  /** `*` was listed: every origin is accepted. */
  readonly any: boolean;
  /** Normalized origins (`scheme://host[:port]`, default ports dropped; or `null`). */
  readonly origins: ReadonlySet<string>;
}

/**
 * `entry` as it is compared to a request's Origin: the literal `*` or `null`, or the
 * `scheme://host[:port]` of an http(s) URL without a path; undefined when it is none of them.
 */
export function normalizeOrigin(entry: string): string | undefined {
  if (entry === '*' || entry === 'null') return entry;
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  return url.origin;
}

/**
 * Compiles `allowedOrigins`.
 * @throws Error naming the first entry that is not `*`, `null` or an http(s) origin.
 */
export function originPolicy(allowedOrigins: readonly string[] = []): OriginPolicy {
  const origins = new Set<string>();
  for (const entry of allowedOrigins) {
    const origin = normalizeOrigin(entry);
    if (origin === undefined) {
      throw new Error(`allowedOrigins: "${entry}" is not an origin like https://example.com`);
    }
    origins.add(origin);
  }
  return { any: origins.has('*'), origins };
}

const DEFAULT_PORTS: Readonly<Record<string, string>> = {
  'http:': '80',
  'https:': '443',
  'ws:': '80',
  'wss:': '443',
};

/** `hostname:port` of a URL, with the scheme's default port filled in. */
function hostAndPort(url: URL): string {
  return `${url.hostname}:${url.port || DEFAULT_PORTS[url.protocol] || ''}`;
}

/** True when the page at `origin` was served by the host and port the request went to. */
function sameHost(origin: string, host: string | undefined, secure: boolean): boolean {
  if (host === undefined || host === '') return false;
  try {
    const page = new URL(origin);
    const target = new URL(`${secure ? 'wss' : 'ws'}://${host}`);
    return hostAndPort(page) === hostAndPort(target);
  } catch {
    return false;
  }
}

/**
 * Whether an upgrade request with this `Origin` (undefined: none) and `Host` may connect
 * under `policy`; `secure` is true on a wss listener (default port 443 for the Host).
 */
export function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  policy: OriginPolicy,
  secure: boolean,
): boolean {
  if (origin === undefined) return true;
  if (policy.any) return true;
  if (sameHost(origin, host, secure)) return true;
  const normalized = normalizeOrigin(origin);
  return normalized !== undefined && policy.origins.has(normalized);
}
