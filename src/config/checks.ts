/**
 * Checks that span several keys, run once the file has the right shape: TLS settings where
 * a listener needs or cannot use them, the WebSocket path, and unique listener names (hooks
 * tell listeners apart by name).
 */

import { checkRedisUrl } from '../storage/redis/redis-url.js';
import { checkBridges } from './bridge-schema.js';
import type { ConfigProblem } from './errors.js';
import { defaultListenerName } from './listener-defaults.js';
import type { ListenerConfig, PipitConfig } from './schema.js';
import { HTTP_TYPES, TLS_TYPES, WS_TYPES } from './schema.js';

function checkListener(listener: ListenerConfig, index: number): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const type = listener.type ?? 'mqtt';
  const at = (...keys: string[]) => ['listeners', index, ...keys];
  if (TLS_TYPES.has(type)) {
    for (const key of ['cert', 'key'] as const) {
      if (listener.tls?.[key] === undefined) {
        problems.push({ path: at('tls', key), message: `required for a listener of type ${type}` });
      }
    }
  } else if (listener.tls !== undefined) {
    problems.push({
      path: at('tls'),
      message: `only allowed on mqtts, wss and https listeners (this one is ${type})`,
    });
  }
  if (listener.path !== undefined && !WS_TYPES.has(type)) {
    problems.push({
      path: at('path'),
      message: `only allowed on ws and wss listeners (this one is ${type})`,
    });
  }
  for (const key of ['allowedOrigins', 'maxFrameSize'] as const) {
    if (listener[key] === undefined || WS_TYPES.has(type)) continue;
    problems.push({
      path: at(key),
      message: `only allowed on ws and wss listeners (this one is ${type})`,
    });
  }
  problems.push(...checkHttpKeys(listener, type, at));
  const tls = listener.tls;
  if (tls?.requireCertificate === true && tls.ca === undefined) {
    problems.push({
      path: at('tls', 'ca'),
      message:
        'required when tls.requireCertificate is true (client certificates are checked against it)',
    });
  }
  if (tls?.useIdentityAsUsername === true && tls.requireCertificate !== true) {
    problems.push({
      path: at('tls', 'useIdentityAsUsername'),
      message: 'needs tls.requireCertificate: true (there is no identity without a certificate)',
    });
  }
  return problems;
}

/** Keys of HTTP listeners only, and MQTT keys an HTTP listener has no use for. */
function checkHttpKeys(
  listener: ListenerConfig,
  type: string,
  at: (...keys: string[]) => (string | number)[],
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (HTTP_TYPES.has(type)) {
    if (listener.auth !== undefined) {
      problems.push({
        path: at('auth'),
        message: `not allowed on ${type} listeners: they serve metrics and health checks, not MQTT clients`,
      });
    }
    return problems;
  }
  for (const key of [
    'maxBodySize',
    'requestTimeout',
    'maxConnectionsPerAddress',
    'headersTimeout',
    'keepAliveTimeout',
    'maxHeaderSize',
  ] as const) {
    if (listener[key] !== undefined) {
      problems.push({
        path: at(key),
        message: `only allowed on http and https listeners (this one is ${type})`,
      });
    }
  }
  return problems;
}

/** `log.rotate` and `log.stdout: false` need a file to apply to. */
function checkLog(config: PipitConfig): ConfigProblem[] {
  const log = config.log;
  if (log === undefined || log.file !== undefined) return [];
  const problems: ConfigProblem[] = [];
  if (log.rotate !== undefined) {
    problems.push({ path: ['log', 'rotate'], message: 'only applies with log.file' });
  }
  if (log.stdout === false) {
    problems.push({
      path: ['log', 'stdout'],
      message: 'false needs log.file (otherwise nothing would be logged)',
    });
  }
  return problems;
}

/** The listeners given, when they are all HTTP ones: no MQTT client could connect. */
function checkSomeMqtt(listeners: readonly ListenerConfig[]): ConfigProblem[] {
  if (listeners.length === 0 || listeners.some((l) => !HTTP_TYPES.has(l.type ?? 'mqtt'))) {
    return [];
  }
  return [
    {
      path: ['listeners'],
      message: 'needs at least one MQTT listener (mqtt, mqtts, ws or wss) besides http ones',
    },
  ];
}

/** Problems that involve more than one key; empty when there are none. */
export function checkConfig(config: PipitConfig): ConfigProblem[] {
  const listeners = config.listeners ?? [];
  const problems = [
    ...listeners.flatMap(checkListener),
    ...checkSomeMqtt(listeners),
    ...checkLog(config),
  ];
  problems.push(...checkRedisStorage(config));
  const seen = new Map<string, number>();
  listeners.forEach((listener, index) => {
    const name = listener.name ?? defaultListenerName(listener);
    const first = seen.get(name);
    if (first === undefined) {
      seen.set(name, index);
      return;
    }
    problems.push({
      path: ['listeners', index, 'name'],
      message: `duplicate listener name "${name}" (also listeners[${first}]); give each listener its own name`,
    });
  });
  problems.push(...checkBridges(config.bridges));
  return problems;
}

/** The Redis store's keys: a URL for type redis, and only for it. */
function checkRedisStorage(config: PipitConfig): ConfigProblem[] {
  const storage = config.storage;
  if (storage === undefined) return [];
  const problems: ConfigProblem[] = [];
  if (storage.type === 'redis') {
    // Optional with `nodes`: a Redis Cluster's URL gives only credentials and TLS.
    if (storage.url === undefined && storage.nodes === undefined) {
      problems.push({
        path: ['storage', 'url'],
        message:
          'required for storage type redis (e.g. "redis://127.0.0.1:6379"), unless storage.nodes names the seed nodes of a Redis Cluster',
      });
    } else if (storage.url !== undefined) {
      const wrong = checkRedisUrl(storage.url);
      if (wrong !== undefined) problems.push({ path: ['storage', 'url'], message: wrong });
    }
    if (storage.name !== undefined && storage.sentinels === undefined) {
      problems.push({
        path: ['storage', 'name'],
        message: 'the Sentinel master name needs storage.sentinels (host:port of each sentinel)',
      });
    }
    for (const key of ['dataDir', 'durability'] as const) {
      if (storage[key] !== undefined) {
        problems.push({
          path: ['storage', key],
          message: 'only for the SQLite store (Redis settings decide what a commit is worth)',
        });
      }
    }
    return problems;
  }
  for (const key of ['url', 'prefix', 'wait', 'sentinels', 'name', 'nodes'] as const) {
    if (storage[key] !== undefined) {
      // The store a cluster implies on its Redis waits as its writes do: one setting.
      const hint =
        key === 'wait' && storage.type === undefined && config.cluster !== undefined
          ? '; the store a cluster uses on its Redis takes cluster.wait'
          : '';
      problems.push({
        path: ['storage', key],
        message: `only for storage type redis (this one is ${storage.type ?? 'sqlite'})${hint}`,
      });
    }
  }
  return problems;
}
