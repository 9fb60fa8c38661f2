/**
 * Redis URLs: the check the config runs before anything connects, and the form logs and
 * errors show (the password replaced). No ioredis here, so the config can use it cheaply.
 */

/** The URL as logs and errors may show it: the password replaced. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(not a URL)';
  }
}

/** Checks a Redis URL; returns what is wrong with it, or undefined. */
export function checkRedisUrl(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `"${url}" is not a URL: expected redis://host:port (or rediss:// for TLS)`;
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    return `${redactUrl(url)}: expected a redis:// or rediss:// URL`;
  }
  return undefined;
}
