/**
 * The configuration files the comparison starts its brokers with, for each transport.
 */
import { isSecure, type Transport } from '../../src/bench/transport.js';
import type { BenchCert } from './bench-cert.js';

/** Where a broker listens for the load generator. */
export interface ListenSpec {
  host: string;
  port: number;
  transport: Transport;
  /** The certificate of the tls and wss listeners. */
  cert?: BenchCert;
}

function needCert(l: ListenSpec): BenchCert {
  if (!l.cert) throw new Error(`a ${l.transport} listener needs a certificate`);
  return l.cert;
}

/**
 * A mosquitto.conf tuned so the broker's queues never drop what a benchmark sends.
 * `plainPort`: a TCP listener opened next to a websockets one, because Debian's Mosquitto
 * 2.0.11 refuses to start ("Unable to start any listening sockets") when its only listener
 * speaks websockets. Nothing connects to it.
 */
export function mosquittoConf(l: ListenSpec, plainPort?: number): string {
  const ws = l.transport === 'ws' || l.transport === 'wss';
  const cert = isSecure(l.transport) ? needCert(l) : undefined;
  return [
    ...(ws && plainPort !== undefined ? [`listener ${plainPort} ${l.host}`] : []),
    `listener ${l.port} ${l.host}`,
    ...(ws ? ['protocol websockets'] : []),
    ...(cert ? [`certfile ${cert.certFile}`, `keyfile ${cert.keyFile}`] : []),
    'allow_anonymous true',
    'persistence false',
    'max_queued_messages 1000000',
    'max_queued_bytes 0',
    'max_inflight_messages 0',
    'max_connections -1',
    // Like Pipit and the bench clients: no Nagle delay on small packets (off by default).
    'set_tcp_nodelay true',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    '',
  ].join('\n');
}

const PIPIT_TYPE: Readonly<Record<Transport, string>> = {
  tcp: 'mqtt',
  tls: 'mqtts',
  ws: 'ws',
  wss: 'wss',
};

/**
 * Pipit's configuration: the MQTT listener on `l` and, with `httpPort` (`pipit-ops`), the
 * HTTP listener (metrics, health checks) and `$SYS` updates every second. It logs warnings
 * and errors only, as Mosquitto is configured here (`log_type error`, `log_type warning`):
 * at its default level Pipit writes a line per connect and per disconnect, Mosquitto's
 * connect notices are off, and the connection scenarios would compare a logging broker with
 * a silent one.
 */
export function pipitConf(l: ListenSpec, httpPort?: number): string {
  const cert = isSecure(l.transport) ? needCert(l) : undefined;
  return [
    'log:',
    '  level: warn',
    // $SYS every second (the plain variant keeps the default, every 10 s), to count its cost too.
    ...(httpPort ? ['sysInterval: 1'] : []),
    'listeners:',
    `  - type: ${PIPIT_TYPE[l.transport]}`,
    `    port: ${l.port}`,
    `    host: ${l.host}`,
    ...(cert ? ['    tls:', `      cert: ${cert.certFile}`, `      key: ${cert.keyFile}`] : []),
    ...(httpPort ? ['  - type: http', `    port: ${httpPort}`, `    host: ${l.host}`] : []),
    '',
  ].join('\n');
}

/** Aedes' command-line arguments (bench/brokers/aedes-server.mjs) for `l`. */
export function aedesArgs(l: ListenSpec): string[] {
  const cert = isSecure(l.transport) ? needCert(l) : undefined;
  return [
    'bench/brokers/aedes-server.mjs',
    '--port',
    String(l.port),
    '--host',
    l.host,
    '--transport',
    l.transport,
    ...(cert ? ['--cert', cert.certFile, '--key', cert.keyFile] : []),
  ];
}
