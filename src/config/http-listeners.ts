/**
 * The HTTP listeners of a configuration (`listeners: - type: http`): their settings for
 * `broker.listen()`, and the notice for one reachable from other machines.
 */
import type { ListenerOptions } from '../broker.js';
import { isLoopbackHost } from './listener-defaults.js';
import type { ListenerConfig } from './schema.js';
import { HTTP_TYPES } from './schema.js';
import type { ListenerSpec } from './to-options.js';

/** What `broker.listen()` is given for one HTTP listener. */
export interface HttpListenerSpec
  extends Omit<ListenerSpec, 'type' | 'path' | 'allowedOrigins' | 'maxFrameSize'> {
  type: 'http' | 'https';
  /** `maxBodySize`: largest request body (default 1 MiB). */
  maxBodyBytes?: number;
  /** `requestTimeout`, in milliseconds (default 10 s). */
  requestTimeoutMs?: number;
  /** `maxConnectionsPerAddress` (default 32; 0 = no cap). */
  maxConnectionsPerAddress?: number;
  /** `headersTimeout`, in milliseconds (default 5 s). */
  headersTimeoutMs?: number;
  /** `keepAliveTimeout`, in milliseconds (default 5 s). */
  keepAliveTimeoutMs?: number;
  /** `maxHeaderSize`, in bytes (default 16 KiB). */
  maxHeaderBytes?: number;
}

/** True for a listener entry that serves HTTP, not MQTT. */
export function isHttpEntry(entry: ListenerConfig): boolean {
  return HTTP_TYPES.has(entry.type ?? 'mqtt');
}

/** The HTTP settings of an entry, on top of what every listener has (`base`). */
export function httpListenerSpec(entry: ListenerConfig, base: ListenerSpec): HttpListenerSpec {
  const { path: _path, allowedOrigins: _origins, maxFrameSize: _frame, ...common } = base;
  const spec: HttpListenerSpec = { ...common, type: entry.type === 'https' ? 'https' : 'http' };
  if (entry.maxBodySize !== undefined) spec.maxBodyBytes = entry.maxBodySize;
  if (entry.requestTimeout !== undefined) {
    spec.requestTimeoutMs = Math.round(entry.requestTimeout * 1000);
  }
  if (entry.maxConnectionsPerAddress !== undefined) {
    spec.maxConnectionsPerAddress = entry.maxConnectionsPerAddress;
  }
  if (entry.headersTimeout !== undefined) {
    spec.headersTimeoutMs = Math.round(entry.headersTimeout * 1000);
  }
  if (entry.keepAliveTimeout !== undefined) {
    spec.keepAliveTimeoutMs = Math.round(entry.keepAliveTimeout * 1000);
  }
  if (entry.maxHeaderSize !== undefined) spec.maxHeaderBytes = entry.maxHeaderSize;
  return spec;
}

/** The argument of `broker.listen()` for an HTTP listener. */
export function toHttpListenerOptions(spec: HttpListenerSpec): ListenerOptions {
  const { type, tls, ...rest } = spec;
  if (type === 'http') return { type, ...rest };
  if (tls === undefined) throw new Error(`listener ${spec.name}: an https listener needs tls`);
  return { type, ...rest, tls };
}

/** A warning for each HTTP listener other machines can reach (it has no authentication). */
export function httpNotices(
  specs: readonly HttpListenerSpec[],
): { level: 'warn'; message: string }[] {
  return specs
    .filter((spec) => !isLoopbackHost(spec.host))
    .map((spec) => ({
      level: 'warn' as const,
      message: `listener ${spec.name} (${spec.host}:${spec.port}) serves /metrics and health checks to other machines without authentication; keep it on a private network or behind a proxy`,
    }));
}
