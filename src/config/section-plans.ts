/**
 * The plans of the configuration sections that are not listeners, limits or the store:
 * `log`, `sysInterval`, `cluster` and `adminApi`, each with its defaults (to-options.ts puts
 * them in the BrokerPlan).
 */
import { resolve } from 'node:path';
import type { BrokerOptions } from '../broker.js';
import type { AdminToken } from '../http/admin/index.js';
import type { Overrides } from './overrides.js';
import type { LOG_FORMATS, LOG_FREQUENCIES, PipitConfig } from './schema.js';

/** The admin HTTP API's settings (config `adminApi`). */
export interface AdminApiPlan {
  tokens: AdminToken[];
  /** Largest request body in bytes; undefined: the API's default (1 MiB). */
  maxBodyBytes?: number;
  /** False: no dashboard at `/` (default: served with the API). */
  dashboard?: boolean;
  /** The live tap's caps; undefined: the API's defaults (4 taps, 50 messages/s each). */
  tap?: { maxTaps?: number; maxRate?: number };
}

/** `log` with its defaults: the format, the file and its rotation. */
export interface LogPlan {
  /** `undefined`: pretty when stdout is a terminal, JSON otherwise. */
  format: (typeof LOG_FORMATS)[number] | undefined;
  /** Absolute path of the log file (JSON lines), if any. */
  file: string | undefined;
  /** Rotation of the file. */
  rotate: {
    /** A new file past this many bytes (0: no size limit). */
    sizeBytes: number;
    frequency: (typeof LOG_FREQUENCIES)[number];
    /** Rotated files kept besides the current one. */
    keep: number;
  };
  /** Lines go to stdout too (default: only when there is no file). */
  stdout: boolean;
}

/** Defaults of `log.rotate`. */
export const DEFAULT_LOG_ROTATE: LogPlan['rotate'] = {
  sizeBytes: 10 * 1024 * 1024,
  frequency: 'daily',
  keep: 7,
};

/**
 * The cluster's Redis URL: --cluster's over the file's; with only `cluster.nodes` (a Redis
 * Cluster, whose URL would give nothing but credentials and TLS) the first seed node's.
 */
export function clusterUrl(config: PipitConfig, o: Overrides): string | undefined {
  const seed = config.cluster?.nodes?.[0];
  return o.cluster ?? config.cluster?.url ?? (seed === undefined ? undefined : `redis://${seed}`);
}

/** `cluster:` with --cluster's URL over the file's; nothing without either. */
export function clusterOptions(config: PipitConfig, o: Overrides): Pick<BrokerOptions, 'cluster'> {
  const url = clusterUrl(config, o);
  if (url === undefined) return {};
  const { sentinels, nodes, wait, ...rest } = config.cluster ?? {};
  const cluster: NonNullable<BrokerOptions['cluster']> = { ...rest, url };
  if (sentinels !== undefined) cluster.sentinels = sentinels.map(parseHostPort);
  if (nodes !== undefined) cluster.nodes = nodes.map(parseHostPort);
  const replicaWait = waitOptions(wait);
  if (replicaWait !== undefined) cluster.wait = replicaWait;
  return { cluster };
}

/** `wait` of the file (timeout in seconds) as the options take it (storage.wait, cluster.wait). */
export function waitOptions(
  wait: { replicas: number; timeout?: number | undefined } | undefined,
): { replicas: number; timeoutMs?: number } | undefined {
  if (wait === undefined) return undefined;
  const out: { replicas: number; timeoutMs?: number } = { replicas: wait.replicas };
  if (wait.timeout !== undefined) out.timeoutMs = Math.round(wait.timeout * 1000);
  return out;
}

/** `host:port` (checked by the schema) as ioredis takes a sentinel. */
export function parseHostPort(text: string): { host: string; port: number } {
  const colon = text.lastIndexOf(':');
  return { host: text.slice(0, colon), port: Number(text.slice(colon + 1)) };
}

/** `log`: where lines go and in which format. */
export function logPlan(config: PipitConfig, baseDir: string): LogPlan {
  const log = config.log ?? {};
  const rotate = log.rotate ?? {};
  const file = log.file === undefined ? undefined : resolve(baseDir, log.file);
  return {
    format: log.format,
    file,
    rotate: {
      sizeBytes: rotate.size ?? DEFAULT_LOG_ROTATE.sizeBytes,
      frequency: rotate.frequency ?? DEFAULT_LOG_ROTATE.frequency,
      keep: rotate.keep ?? DEFAULT_LOG_ROTATE.keep,
    },
    stdout: log.stdout ?? file === undefined,
  };
}

/** `sysInterval`: the flag over the file; absent, the broker's default applies. */
export function sysInterval(config: PipitConfig, o: Overrides): { sysInterval?: number } {
  const value = o.sysInterval ?? config.sysInterval;
  return value === undefined ? {} : { sysInterval: value };
}

/** `adminApi`: the tokens as configured (scope full unless read), and the body limit. */
export function adminApiPlan(config: PipitConfig): AdminApiPlan {
  const api = config.adminApi ?? {};
  const tokens = (api.tokens ?? []).map(({ name, hash, scope }) => ({
    name,
    hash,
    scope: scope ?? 'full',
  }));
  const plan: AdminApiPlan =
    api.maxBodySize === undefined ? { tokens } : { tokens, maxBodyBytes: api.maxBodySize };
  if (api.dashboard !== undefined) plan.dashboard = api.dashboard;
  if (api.tap !== undefined) plan.tap = { ...api.tap };
  return plan;
}
