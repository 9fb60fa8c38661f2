/**
 * `-L mqtt(s)://[username[:password]@]host[:port]/topic`: the broker, credentials and topic
 * in one argument. Parsed by hand rather than with URL: a topic filter may hold '#' and
 * '+', which a URL parser would take for a fragment or leave encoded.
 */
import { UsageError } from './flag-values.js';

/** What a -L URL gives. */
export interface BrokerUrl {
  tls: boolean;
  host: string;
  port: number;
  username?: string;
  password?: string;
  /** Everything after the first '/' of the path, as is; empty when there is none. */
  topic: string;
}

/** Parses a -L URL. @throws UsageError naming what is wrong with it. */
export function parseBrokerUrl(url: string): BrokerUrl {
  const scheme = /^(mqtts?):\/\//i.exec(url);
  if (!scheme) throw new UsageError(`-L: "${url}" must start with mqtt:// or mqtts://`);
  const tls = scheme[1].toLowerCase() === 'mqtts';
  const rest = url.slice(scheme[0].length);
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const topic = slash < 0 ? '' : rest.slice(slash + 1);
  const at = authority.lastIndexOf('@');
  const userinfo = at < 0 ? undefined : authority.slice(0, at);
  const hostPort = at < 0 ? authority : authority.slice(at + 1);
  // [::1]:1883 for IPv6, host:1883 otherwise.
  const m = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d+))?$/.exec(hostPort);
  if (!m) throw new UsageError(`-L: no host in "${url}"`);
  const port = m[2] === undefined ? (tls ? 8883 : 1883) : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`-L: port must be 1 to 65535 in "${url}"`);
  }
  const result: BrokerUrl = { tls, host: m[1].replace(/^\[|\]$/g, ''), port, topic };
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    result.username = colon < 0 ? userinfo : userinfo.slice(0, colon);
    if (colon >= 0) result.password = userinfo.slice(colon + 1);
  }
  return result;
}
