/**
 * `bridges:` entries -> the broker's BridgeOptions: addresses parsed, seconds to ms, and the
 * TLS files (relative to the configuration file) read now, so that a missing or unreadable
 * file is reported with its key before the broker starts.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import type { BridgeOptions } from '../bridge/index.js';
import { type BridgeConfig, parseAddress } from './bridge-schema.js';
import { ConfigError, formatPath } from './errors.js';

function readPem(baseDir: string, file: string, path: readonly PropertyKey[]): Buffer {
  const full = resolve(baseDir, file);
  try {
    return readFileSync(full);
  } catch (err) {
    throw new ConfigError([`${formatPath(path)}: cannot read ${full}: ${(err as Error).message}`]);
  }
}

function tlsOptions(
  config: BridgeConfig,
  index: number,
  baseDir: string,
): boolean | ConnectionOptions | undefined {
  const tls = config.tls;
  if (tls === undefined || tls === true) return tls;
  const at = (key: string) => ['bridges', index, 'tls', key];
  const options: ConnectionOptions = {};
  if (tls.ca !== undefined) options.ca = readPem(baseDir, tls.ca, at('ca'));
  if (tls.cert !== undefined) options.cert = readPem(baseDir, tls.cert, at('cert'));
  if (tls.key !== undefined) options.key = readPem(baseDir, tls.key, at('key'));
  if (tls.servername !== undefined) options.servername = tls.servername;
  if (tls.insecure === true) options.rejectUnauthorized = false;
  return options;
}

/** The bridges of a configuration, ready for createBroker. Throws ConfigError for a bad file. */
export function toBridgeOptions(
  bridges: readonly BridgeConfig[] | undefined,
  baseDir: string,
): BridgeOptions[] {
  return (bridges ?? []).map((b, index) => {
    const tls = tlsOptions(b, index, baseDir);
    const ms = (s: number | undefined) => (s === undefined ? undefined : Math.round(s * 1000));
    return {
      name: b.name,
      addresses: b.addresses.map((a) => parseAddress(a, tls !== undefined)!),
      protocolVersion: b.protocol === 'mqttv50' ? 5 : 4,
      clientId: b.clientId,
      cleanSession: b.cleanSession,
      sessionExpiry: b.sessionExpiry,
      keepAlive: b.keepAlive,
      username: b.username,
      password: b.password,
      tls,
      tryPrivate: b.tryPrivate,
      notifications: b.notifications,
      notificationTopic: b.notificationTopic,
      notificationsLocalOnly: b.notificationsLocalOnly,
      sendRetainedOnConnect: b.sendRetainedOnConnect,
      maxIncomingRate: b.maxIncomingRate,
      localUsername: b.localUsername,
      maxInflight: b.maxInflight,
      reconnectDelayMs: ms(b.reconnectDelay),
      maxReconnectDelayMs: ms(b.maxReconnectDelay),
      primaryProbeMs: ms(b.primaryProbe),
      topics: b.topics,
    };
  });
}
