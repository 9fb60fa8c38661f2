/**
 * Checks that span several keys, run once the file has the right shape: TLS settings where
 * a listener needs or cannot use them, the WebSocket path, and unique listener names (hooks
 * tell listeners apart by name).
 */
import type { ConfigProblem } from './errors.js';
import { defaultListenerName } from './listener-defaults.js';
import type { ListenerConfig, PipitConfig } from './schema.js';
import { TLS_TYPES, WS_TYPES } from './schema.js';

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
      message: `only allowed on mqtts and wss listeners (this one is ${type})`,
    });
  }
  if (listener.path !== undefined && !WS_TYPES.has(type)) {
    problems.push({
      path: at('path'),
      message: `only allowed on ws and wss listeners (this one is ${type})`,
    });
  }
  if (listener.allowedOrigins !== undefined && !WS_TYPES.has(type)) {
    problems.push({
      path: at('allowedOrigins'),
      message: `only allowed on ws and wss listeners (this one is ${type})`,
    });
  }
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

/** Problems that involve more than one key; empty when there are none. */
export function checkConfig(config: PipitConfig): ConfigProblem[] {
  const listeners = config.listeners ?? [];
  const problems = [...listeners.flatMap(checkListener), ...checkLog(config)];
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
  return problems;
}
