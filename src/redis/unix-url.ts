/**
 * `unix:///path/to/redis.sock`: a Redis reached over a Unix domain socket, for a Redis on the
 * same host as its nodes (docs/cluster.md, "Redis over a Unix socket"). No ioredis here, so
 * the config and the CLI can check a URL before anything connects.
 *
 * Why this form: ioredis takes a Unix socket as its `path` option (or a bare path as the
 * URL), not as a URL scheme, while Pipit's settings are one URL (`--cluster <url>`,
 * `cluster.url`, `storage.url`). `unix://` with the database and the credentials in the
 * query is the form redis-py and other clients read (`unix:///run/redis.sock?db=2`); the
 * credentials cannot go before the path as in `redis://` (`unix://:pw@/path` is no URL: a
 * URL with credentials needs a host).
 */

/** Where a `unix://` URL points, and what it logs in with. */
export interface UnixSocketTarget {
  /** The socket's absolute path. */
  path: string;
  db?: number;
  username?: string;
  password?: string;
}

/** The query keys a `unix://` URL may carry. */
const KEYS = new Set(['db', 'username', 'password']);

/** The form every error shows. */
const EXPECTED = 'expected unix:///path/to/redis.sock[?db=N&password=...&username=...]';

/** Whether `url` names a Unix socket (`unix:`), whether or not it is well formed. */
export function isUnixUrl(url: string): boolean {
  return /^unix:/i.test(url);
}

/**
 * Reads a `unix://` URL: its socket path (absolute, so `unix:///` and three slashes),
 * database and credentials. Returns what is wrong with it as a string (the password not
 * shown), or the target.
 */
export function readUnixUrl(url: string): UnixSocketTarget | string {
  const shown = redactUnixUrl(url);
  if (/^unix:\/\/[^/]*@/i.test(url)) {
    return `${shown}: credentials go in the query (unix:///path/to/redis.sock?username=...&password=...), not before the path`;
  }
  if (!/^unix:\/\/\//i.test(url)) {
    return `${shown}: the socket path must be absolute, after "unix://" (three slashes: unix:///run/redis.sock); ${EXPECTED}`;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${shown} is not a URL: ${EXPECTED}`;
  }
  if (parsed.hash !== '') return `${shown}: a "#" is not part of a socket path; ${EXPECTED}`;
  let path: string;
  try {
    path = decodeURIComponent(parsed.pathname);
  } catch {
    return `${shown}: the path has a "%" that is no %XX escape; ${EXPECTED}`;
  }
  if (path === '/' || path.endsWith('/')) {
    return `${shown}: the path names a directory, not a socket file; ${EXPECTED}`;
  }
  const target: UnixSocketTarget = { path };
  for (const [key, value] of parsed.searchParams) {
    if (!KEYS.has(key)) return `${shown}: unknown query parameter "${key}"; ${EXPECTED}`;
    if (key === 'db') {
      if (!/^\d{1,5}$/.test(value)) {
        return `${shown}: db "${value}" is not a database number (0, 1, ...)`;
      }
      target.db = Number(value);
    } else if (value === '') {
      return `${shown}: ${key} is empty`;
    } else target[key as 'username' | 'password'] = value;
  }
  return target;
}

/**
 * `url` as logs and errors may show it: a `?password=` replaced by `***`, and so are
 * credentials wrongly put before the path (`unix://user:pw@/...`).
 */
export function redactUnixUrl(url: string): string {
  return url.replace(/([?&]password=)[^&#]*/gi, '$1***').replace(/^(unix:\/\/)[^/]*@/i, '$1***@');
}
