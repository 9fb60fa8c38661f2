/**
 * Defaults of a listener: its port and name by type, and which hosts count as loopback
 * (the secure default serves only this machine).
 */
import type { ListenerConfig } from './schema.js';

/** Listener type. */
export type ListenerType = 'mqtt' | 'mqtts' | 'ws' | 'wss' | 'http' | 'https';

/**
 * Default port per type: the IANA MQTT ports; 8080/8081 for WebSockets; 8088/8443 for the
 * HTTP listener (metrics, health checks), clear of the WebSocket ones (as `broker.listen`).
 */
export const DEFAULT_PORTS: Readonly<Record<ListenerType, number>> = {
  mqtt: 1883,
  mqtts: 8883,
  ws: 8080,
  wss: 8081,
  http: 8088,
  https: 8443,
};

/** Default interface: this machine only. */
export const DEFAULT_HOST = '127.0.0.1';

/** Default WebSocket path (what MQTT.js and most clients use). */
export const DEFAULT_WS_PATH = '/mqtt';

/** `<type>:<port>`, the name of a listener without one, e.g. `mqtt:1883`. */
export function defaultListenerName(listener: Pick<ListenerConfig, 'type' | 'port'>): string {
  const type = listener.type ?? 'mqtt';
  return `${type}:${listener.port ?? DEFAULT_PORTS[type]}`;
}

/**
 * True for addresses that only this machine can reach: 127.0.0.0/8, ::1 (also written as an
 * IPv4-mapped address) and `localhost`. Anything else (0.0.0.0, ::, a LAN address, a name)
 * is treated as reachable from other machines.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}
