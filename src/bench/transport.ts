/**
 * The byte streams the load generator speaks MQTT over: plain TCP, TLS, WebSocket and
 * WebSocket over TLS. Every one is a Node Duplex carrying the same MQTT byte stream, so the
 * roles (publisher, subscriber) do not know which one they write to.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { createWebSocketStream, WebSocket } from 'ws';
import { framePerPacket } from './ws-frames.js';

/** How the bench reaches the broker. */
export type Transport = 'tcp' | 'tls' | 'ws' | 'wss';

/** Every transport, for validation and help text. */
export const TRANSPORTS: readonly Transport[] = ['tcp', 'tls', 'ws', 'wss'];

/** Where and how to open one stream. */
export interface StreamOptions {
  host: string;
  port: number;
  transport: Transport;
  /** WebSocket path (ws, wss). */
  wsPath: string;
  /** PEM of the CA that signed the broker's certificate (tls, wss); none: the system's. */
  ca?: string | Buffer;
  /** Verify the broker's certificate (tls, wss). */
  rejectUnauthorized: boolean;
}

/** True for the transports that run over TLS. */
export function isSecure(t: Transport): boolean {
  return t === 'tls' || t === 'wss';
}

function tlsOptions(o: StreamOptions): tls.ConnectionOptions {
  return {
    ca: o.ca,
    rejectUnauthorized: o.rejectUnauthorized,
    // SNI carries host names only (RFC 6066 §3): an address is checked against the
    // certificate's IP SANs without it.
    servername: net.isIP(o.host) ? undefined : o.host,
  };
}

/**
 * Opens a stream to the broker. It is connecting when returned: writes made before it is
 * open are queued, and a failure to connect arrives as 'error' then 'close'.
 */
export function openStream(o: StreamOptions): Duplex {
  switch (o.transport) {
    case 'tcp': {
      const socket = net.connect({ host: o.host, port: o.port });
      socket.setNoDelay(true);
      return socket;
    }
    case 'tls': {
      const socket = tls.connect({ host: o.host, port: o.port, ...tlsOptions(o) });
      socket.setNoDelay(true);
      return socket;
    }
    case 'ws':
    case 'wss':
      return openWebSocket(o);
  }
}

function openWebSocket(o: StreamOptions): Duplex {
  const scheme = o.transport === 'wss' ? 'wss' : 'ws';
  const host = net.isIPv6(o.host) ? `[${o.host}]` : o.host;
  // [MQTT-6.0.0-3] the client offers the "mqtt" subprotocol. Compression off: brokers
  // rarely offer it, and it would measure zlib rather than MQTT.
  const socket = new WebSocket(`${scheme}://${host}:${o.port}${o.wsPath}`, 'mqtt', {
    perMessageDeflate: false,
    ...(o.transport === 'wss' ? tlsOptions(o) : {}),
  });
  // One binary frame per MQTT packet (ws-frames.ts); the ws library sets TCP_NODELAY.
  return framePerPacket(createWebSocketStream(socket), socket);
}
