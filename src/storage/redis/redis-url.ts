/**
 * Redis URLs: the check the config runs before anything connects, and the form logs and
 * errors show (the password replaced). No ioredis here, so the config can use it cheaply.
 */
import { isUnixUrl, readUnixUrl, redactUnixUrl } from '../../redis/unix-url.js';

/** The URL as logs and errors may show it: the password replaced. */
export function redactUrl(url: string): string {
  if (isUnixUrl(url)) return redactUnixUrl(url);
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
  if (isUnixUrl(url)) {
    const target = readUnixUrl(url);
    return typeof target === 'string' ? target : undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `"${url}" is not a URL: expected redis://host:port (or rediss:// for TLS, unix:///path/to/redis.sock for a Unix socket)`;
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    return `${redactUrl(url)}: expected a redis://, rediss:// or unix:///path/to/redis.sock URL`;
  }
  return undefined;
}
