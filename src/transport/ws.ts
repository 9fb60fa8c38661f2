/**
 * The WebSocket listeners (ws:// and wss://): an HTTP(S) server whose upgrades on one path
 * become MQTT connections over the `mqtt` subprotocol. The TLS handshake and the upgrade
 * request each have the connect timeout; browser pages of other origins are refused.
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import type { BrokerCore } from '../core/index.js';
import { capConnections } from './connection-cap.js';
import {
  closeFailedHttpHandshakes,
  httpHandshakeOptions,
  tlsHandshakeOptions,
} from './handshake-timeout.js';
import type { Listener } from './listener.js';
import { closeServer, listenServer, trackSockets } from './listener.js';
import {
  certificateIdentity,
  loadSecureContextOptions,
  loadServerTlsOptions,
  type TlsOptions,
} from './tls-context.js';
import { type OriginPolicy, originAllowed, originPolicy } from './ws-origin.js';
import { attachWebSocket } from './ws-sink.js';

/** Options of a WebSocket listener; with `tls` it is a wss listener. */
export interface WsListenerOptions {
  port: number;
  host?: string | undefined;
  /** Name used in logs and hooks; default 'ws' or 'wss'. */
  name?: string | undefined;
  /** The HTTP path that accepts MQTT; default '/mqtt'. Other paths get 404. */
  path?: string | undefined;
  tls?: TlsOptions | undefined;
  /** Open sockets on this listener (plain HTTP ones included); more are closed at once. */
  maxConnections?: number | undefined;
  /**
   * Browser origins (`https://host[:port]`, `null`, or `*` for any) allowed besides the
   * same-host rule: an upgrade without an Origin header (not a browser) or whose Origin has
   * the host and port of its Host header is accepted; another Origin gets HTTP 403 unless it
   * is listed here (see ws-origin.ts). Default: none.
   */
  allowedOrigins?: readonly string[] | undefined;
  /**
   * The largest WebSocket message accepted, in bytes; a larger one closes the connection with
   * 1009 (Message Too Big). Default: the broker's maximumPacketSize plus 64 KiB.
   */
  maxFrameSize?: number | undefined;
}

/**
 * Default room above the broker's maximum packet size for messages that carry a packet and a
 * bit. One WebSocket message may carry many MQTT packets [MQTT-6.0.0-2]; the cap bounds what
 * one connection makes the broker buffer before the decoder sees a byte (`ws` assembles a whole
 * message first). A client that batches many packets per message can be given more room with
 * the listener's `maxFrameSize`.
 */
const PAYLOAD_SLACK = 64 * 1024;

/** Subprotocols accepted, in order of preference: 'mqtt' and the MQTT 3.1 era name. */
const SUBPROTOCOLS = ['mqtt', 'mqttv3.1'];

/** Picks the subprotocol to answer with; [MQTT-6.0.0-4] 'mqtt' whenever it is offered. */
function pickSubprotocol(offered: Set<string>): string | false {
  return SUBPROTOCOLS.find((p) => offered.has(p)) ?? false;
}

/**
 * Why an upgrade is refused (status and text), or undefined to accept it. A request that
 * offers no subprotocol is accepted, as by most brokers, though [MQTT-6.0.0-3] asks
 * clients for 'mqtt'; one that offers only others is refused.
 */
function refuseUpgrade(req: IncomingMessage, path: string): [number, string] | undefined {
  if (pathOf(req) !== path) return [404, `no MQTT endpoint here; try ${path}`];
  const header = req.headers['sec-websocket-protocol'];
  if (header === undefined) return undefined;
  const offered = new Set(header.split(',').map((p) => p.trim()));
  if (pickSubprotocol(offered) === false) {
    return [400, `unsupported WebSocket subprotocol; use ${SUBPROTOCOLS.join(' or ')}`];
  }
  return undefined;
}

function pathOf(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? '/', 'http://localhost').pathname;
  } catch {
    return '';
  }
}

function writeHttpError(socket: Duplex, status: number, text: string): void {
  const body = `${text}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n` +
      `Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  socket.once('finish', () => socket.destroy());
}

/** Answers plain HTTP: the MQTT path needs an upgrade; everything else does not exist. */
function answerHttp(path: string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const status = pathOf(req) === path ? 426 : 404;
    res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' });
    res.end(`${STATUS_CODES[status]}\n`);
  };
}

/** Refuses (403, counted and logged) an upgrade from a browser page of a foreign origin. */
function refuseOrigin(
  core: BrokerCore,
  name: string,
  req: IncomingMessage,
  origins: OriginPolicy,
  secure: boolean,
): [number, string] | undefined {
  const { origin, host } = req.headers;
  if (originAllowed(origin, host, origins, secure)) return undefined;
  core.refusals.note(
    'ws-origin',
    { listener: name, origin, host, remoteAddress: req.socket.remoteAddress },
    'WebSocket upgrade refused: Origin not allowed on this listener',
  );
  return [403, 'this origin may not connect; see allowedOrigins'];
}

/** Turns accepted upgrades into core connections, refusing wrong paths, subprotocols and origins. */
function upgradeHandler(
  core: BrokerCore,
  name: string,
  path: string,
  tls: TlsOptions | undefined,
  origins: OriginPolicy,
  maxFrameSize: number | undefined,
) {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: maxFrameSize ?? core.options.maximumPacketSize + PAYLOAD_SLACK,
    handleProtocols: pickSubprotocol,
    perMessageDeflate: false,
    clientTracking: false,
  });
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const refusal = refuseUpgrade(req, path) ?? refuseOrigin(core, name, req, origins, !!tls);
    if (refusal) {
      writeHttpError(socket, ...refusal);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      attachWebSocket(core, ws, {
        remoteAddress: req.socket.remoteAddress,
        listener: name,
        ...(tls && {
          certificateIdentity: certificateIdentity(req.socket as TLSSocket, tls.identityFrom),
          identityAsUsername: tls.useIdentityAsUsername,
        }),
      });
    });
  };
}

/** Starts a ws (or, with `tls`, wss) listener that feeds `core`. */
export async function startWsListener(
  core: BrokerCore,
  options: WsListenerOptions,
): Promise<Listener> {
  const { tls } = options;
  const name = options.name ?? (tls ? 'wss' : 'ws');
  const path = options.path ?? '/mqtt';
  const origins = originPolicy(options.allowedOrigins);
  const http = httpHandshakeOptions(core);
  const server = tls
    ? createHttpsServer({
        ...(await loadServerTlsOptions(tls)),
        ...tlsHandshakeOptions(core),
        ...http,
      })
    : createHttpServer(http);
  const sockets = trackSockets(server);
  closeFailedHttpHandshakes(server, core, name);
  server.on('request', answerHttp(path));
  server.on('upgrade', upgradeHandler(core, name, path, tls, origins, options.maxFrameSize));
  capConnections(server, core, name, options.maxConnections);
  const address = await listenServer(server, options.port, options.host, tls ? 'wss' : 'ws', path);
  const listener: Listener = {
    name,
    address,
    close: () => {
      // Upgraded sockets are closed by the core (DISCONNECT, then close); idle HTTP ones here.
      server.closeIdleConnections();
      return closeServer(server, sockets);
    },
  };
  if (tls && 'setSecureContext' in server) {
    listener.reloadTls = async () => server.setSecureContext(await loadSecureContextOptions(tls));
  }
  return listener;
}
