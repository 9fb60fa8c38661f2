/**
 * Command-line flags and environment variables that override the file for the common
 * settings. Precedence: flags > environment > file > defaults.
 *
 * `port` and `host` apply to the first listener (the default one when the file has none).
 */
import { ConfigError, describeValue } from './errors.js';
import { LOG_LEVELS } from './schema.js';

/** A log level pino understands. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Settings that flags and environment variables can override. */
export interface Overrides {
  port?: number;
  host?: string;
  /** Keep everything in memory (flag only). */
  memory?: boolean;
  dataDir?: string;
  logLevel?: LogLevel;
  /** Redis URL of the cluster to join (flag only: --cluster). */
  cluster?: string;
  /** Seconds between `$SYS` updates (flag only: --sys-interval). */
  sysInterval?: number;
}

/** The environment variables read, by setting. */
export const ENV_VARS = {
  port: 'PIPIT_PORT',
  host: 'PIPIT_HOST',
  logLevel: 'PIPIT_LOG_LEVEL',
  dataDir: 'PIPIT_DATA_DIR',
} as const;

/** `value` as a port, or `undefined` when it is not one. */
export function parsePortText(value: string): number | undefined {
  if (!/^\s*\d{1,5}\s*$/.test(value)) return undefined;
  const port = Number(value);
  return port <= 65535 ? port : undefined;
}

/** `value` as a log level, or `undefined`. */
export function parseLogLevel(value: string): LogLevel | undefined {
  const level = value.trim().toLowerCase();
  return (LOG_LEVELS as readonly string[]).includes(level) ? (level as LogLevel) : undefined;
}

/**
 * Reads PIPIT_PORT, PIPIT_HOST, PIPIT_LOG_LEVEL and PIPIT_DATA_DIR. Empty variables count
 * as unset.
 * @throws ConfigError naming each variable with a bad value.
 */
export function readEnvOverrides(env: Readonly<Record<string, string | undefined>>): Overrides {
  const out: Overrides = {};
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value;
  };
  const port = get(ENV_VARS.port);
  if (port !== undefined) {
    out.port = parsePortText(port);
    if (out.port === undefined) {
      problems.push(`${ENV_VARS.port}: expected an integer 0-65535, got ${describeValue(port)}`);
    }
  }
  const level = get(ENV_VARS.logLevel);
  if (level !== undefined) {
    out.logLevel = parseLogLevel(level);
    if (out.logLevel === undefined) {
      const expected = `expected one of ${LOG_LEVELS.join(', ')}`;
      problems.push(`${ENV_VARS.logLevel}: ${expected}, got ${describeValue(level)}`);
    }
  }
  const host = get(ENV_VARS.host);
  if (host !== undefined) out.host = host.trim();
  const dataDir = get(ENV_VARS.dataDir);
  if (dataDir !== undefined) out.dataDir = dataDir;
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}

/** `flags` over `env`: a flag that is set wins over the variable. */
export function mergeOverrides(flags: Overrides, env: Overrides): Overrides {
  const merged: Overrides = { ...env };
  for (const [key, value] of Object.entries(flags)) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}
