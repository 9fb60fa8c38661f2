/**
 * Opening a client connection over TCP, TLS or a Unix domain socket.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { ConnectPacket } from '../protocol/packets.js';
import { MqttClient } from './mqtt-client.js';
import type { ClientOptions } from './options.js';

/** Where a connection goes, for error messages. */
export function describeTarget(o: ClientOptions): string {
  if (o.socketPath !== undefined) return o.socketPath;
  return `${o.host ?? '127.0.0.1'}:${o.port ?? (o.tls ? 8883 : 1883)}`;
}

function openSocket(o: ClientOptions, timeoutMs: number): Promise<net.Socket> {
  const host = o.host ?? '127.0.0.1';
  const port = o.port ?? (o.tls ? 8883 : 1883);
  // A Unix socket takes the path instead of host and port; TCP may bind a local address.
  const where: net.NetConnectOpts =
    o.socketPath !== undefined
      ? { path: o.socketPath }
      : { host, port, ...(o.localAddress === undefined ? {} : { localAddress: o.localAddress }) };
  return new Promise((resolve, reject) => {
    const socket = o.tls
      ? tls.connect({
          ...(where as tls.ConnectionOptions),
          servername: o.socketPath !== undefined || net.isIP(host) ? undefined : host,
          ...(o.tls === true ? {} : o.tls),
        })
      : net.connect(where);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to ${describeTarget(o)} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const ready = o.tls ? 'secureConnect' : 'connect';
    socket.once(ready, () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.setNoDelay(o.noDelay ?? true);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function buildConnect(o: ClientOptions): ConnectPacket {
  const version = o.protocolVersion ?? 4;
  // MQTT 3.1 servers may refuse an empty client id, so one is made up for that version.
  const clientId = o.clientId ?? (version === 3 ? `pipit-${randomBytes(6).toString('hex')}` : '');
  return {
    type: 'connect',
    protocolName: version === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: version,
    clean: o.clean ?? true,
    keepAlive: o.keepAlive ?? 60,
    clientId,
    username: o.username,
    password: typeof o.password === 'string' ? Buffer.from(o.password) : o.password,
    will: o.will,
    ...(o.bridgeFlag === true && version !== 5 ? { bridge: true } : {}),
    // MQTT 5: tell the server our limit, so it drops what we would refuse [MQTT-3.1.2-24].
    properties:
      version !== 5
        ? undefined
        : o.maximumPacketSize === undefined
          ? o.properties
          : { ...o.properties, maximumPacketSize: o.maximumPacketSize },
  };
}

/**
 * Connects to an MQTT server and resolves with a client once the server accepted the
 * connection (CONNACK success). Rejects with a ConnectRefusedError carrying the server's
 * code when refused, or with the socket's error.
 *
 * `setup` runs on the client before CONNECT is sent: listeners added there see everything,
 * including the messages of a resumed session, which may arrive in the same read as the
 * CONNACK, before this promise resolves.
 */
export async function connect(
  options: ClientOptions = {},
  setup?: (client: MqttClient) => void,
): Promise<MqttClient> {
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  const packet = buildConnect(options);
  const socket = await openSocket(options, timeoutMs);
  const client = new MqttClient(socket, packet, {
    maximumPacketSize: options.maximumPacketSize,
    maxInflight: options.maxInflight,
    trace: options.trace,
    deferAcks: options.deferAcks,
  });
  setup?.(client);
  await client.start(timeoutMs);
  return client;
}
