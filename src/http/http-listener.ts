/**
 * The HTTP listener (`listeners: - type: http`): a thin `node:http` (or, with `tls`,
 * `node:https`) server that dispatches each request by path prefix to the broker's routes
 * (metrics, health checks, the admin API). It bounds what a client can make it hold: the
 * request body (`maxBodyBytes`), the time to send the headers (`headersTimeoutMs`) and a
 * whole request (`requestTimeoutMs`, then 408; an idle connection that sends nothing is
 * closed at the headers timeout too), the headers' size (`maxHeaderBytes`, then 431), the
 * time a kept-alive connection may wait for its next request (`keepAliveTimeoutMs`) and its
 * open sockets, in all and per source address (see connection-caps.ts). Each refusal is
 * counted and logged (throttled) through `refusals`.
 */
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  STATUS_CODES,
} from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../ports/index.js';
import type { Listener } from '../transport/listener.js';
import { closeServer, listenServer, trackSockets } from '../transport/listener.js';
import {
  loadSecureContextOptions,
  loadServerTlsOptions,
  type TlsOptions,
} from '../transport/tls-context.js';
import {
  ConnectionCaps,
  DEFAULT_HTTP_MAX_CONNECTIONS,
  DEFAULT_HTTP_MAX_CONNECTIONS_PER_ADDRESS,
  type HttpRefusalKind,
  type HttpRefusals,
} from './connection-caps.js';
import { type DispatchContext, dispatch } from './dispatch.js';
import { PROBLEM_CONTENT_TYPE, problemOf } from './problem.js';
import type { HttpRoute } from './route.js';

/** Default cap of a request body: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Default time a client has to send a whole request: 10 s. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Default time a client has to send a request's headers (or its first byte): 5 s. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 5_000;
/** Default time a kept-alive connection may wait for its next request: 5 s (Node's). */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Default cap of a request's headers: 16 KiB (Node's). */
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;

/** What an HTTP listener takes besides its address. */
export interface HttpServeOptions {
  /** Largest request body accepted (413 beyond; a body needs Content-Length). Default 1 MiB. */
  maxBodyBytes?: number;
  /** Time a client has to send a whole request (headers and body); then 408. Default 10000. */
  requestTimeoutMs?: number;
  /**
   * Time a client has to send a request's headers, counted from the connection (or the end
   * of the previous request); then 408. At most `requestTimeoutMs`. Default 5000.
   */
  headersTimeoutMs?: number;
  /** Time a kept-alive connection may stay idle between requests; then closed. Default 5000. */
  keepAliveTimeoutMs?: number;
  /** Largest request line and headers, in bytes; then 431. Default 16 KiB. */
  maxHeaderBytes?: number;
  /**
   * Open sockets from one source address (an IPv6 /64 counts as one), loopback included;
   * more are closed at once. 0 = no cap. Default 32.
   */
  maxConnectionsPerAddress?: number | undefined;
}

/** Options of an HTTP listener; with `tls` it serves HTTPS. */
export interface HttpListenerOptions extends HttpServeOptions {
  port: number;
  host?: string | undefined;
  /** Name used in logs; default 'http' or 'https'. */
  name?: string | undefined;
  tls?: TlsOptions | undefined;
  /** Open sockets on this listener; more are closed at once. 0 = no cap. Default 256. */
  maxConnections?: number | undefined;
  /** Counts and logs refused connections and requests (the broker passes its refusal log). */
  refusals?: HttpRefusals | undefined;
}

/**
 * Answers a request Node could not parse or that took too long (there is no response object
 * then: the answer goes on the socket), and closes the connection.
 */
function answerClientError(
  err: Error,
  socket: Duplex,
  listener: string,
  logger: Logger,
  refusals: HttpRefusals | undefined,
): void {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const status = CLIENT_ERROR_STATUS[code] ?? 400;
  const refusal = CLIENT_ERROR_REFUSAL[status];
  const remoteAddress = (socket as Socket).remoteAddress;
  if (refusal !== undefined) {
    refusals?.note(
      refusal,
      { listener, remoteAddress, status },
      `HTTP request refused: ${CLIENT_ERROR_DETAIL[status]}`,
    );
  } else {
    logger.debug({ listener, code, status, remoteAddress }, 'HTTP request refused before routing');
  }
  if (socket.writable && (socket as Socket).bytesWritten === 0) {
    const body = JSON.stringify(problemOf(status, CLIENT_ERROR_DETAIL[status] ?? err.message));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n` +
        `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** Status of each parser error worth its own (default 400). */
const CLIENT_ERROR_STATUS: Readonly<Record<string, number>> = {
  ERR_HTTP_REQUEST_TIMEOUT: 408,
  HPE_HEADER_OVERFLOW: 431,
};

/** The refusals counted (a flood of them is an attack worth a counter; a bad request is not). */
const CLIENT_ERROR_REFUSAL: Readonly<Record<number, HttpRefusalKind>> = {
  408: 'http-timeout',
  431: 'http-header-size',
};

const CLIENT_ERROR_DETAIL: Readonly<Record<number, string>> = {
  408: 'the request was not sent in time (headersTimeout, requestTimeout)',
  431: 'the request headers are too large (maxHeaderSize)',
  400: 'the request is not valid HTTP/1.1',
};

/** How often Node checks the request timeout: often enough for short timeouts. */
function checkingInterval(timeoutMs: number): number {
  return Math.max(10, Math.min(1000, Math.floor(timeoutMs / 4)));
}

async function createServer(options: HttpListenerOptions): Promise<HttpServer | HttpsServer> {
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  // Node refuses a headers timeout longer than the request timeout.
  const headersTimeout = Math.min(
    options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
    requestTimeout,
  );
  const settings = {
    requestTimeout,
    headersTimeout,
    connectionsCheckingInterval: checkingInterval(headersTimeout),
    keepAliveTimeout: options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
    maxHeaderSize: options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
  };
  if (options.tls === undefined) return createHttpServer(settings);
  const tls = await loadServerTlsOptions(options.tls);
  return createHttpsServer({ ...tls, ...settings, handshakeTimeout: headersTimeout });
}

/**
 * Starts an HTTP(S) listener serving `routes` (read at each request, so routes added later
 * are served too); resolves once it is bound.
 */
export async function startHttpListener(
  options: HttpListenerOptions,
  routes: readonly HttpRoute[],
  logger: Logger,
): Promise<Listener> {
  const { tls } = options;
  const name = options.name ?? (tls ? 'https' : 'http');
  const server = await createServer(options);
  const caps = new ConnectionCaps(
    {
      maxConnections: options.maxConnections ?? DEFAULT_HTTP_MAX_CONNECTIONS,
      maxConnectionsPerAddress:
        options.maxConnectionsPerAddress ?? DEFAULT_HTTP_MAX_CONNECTIONS_PER_ADDRESS,
    },
    name,
    options.refusals,
  );
  const sockets = trackSockets(server);
  server.on('connection', (socket: Socket) => caps.admit(socket));
  const address = await listenServer(server, options.port, options.host, tls ? 'https' : 'http');
  const ctx: DispatchContext = {
    routes,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    base: address.url,
    listener: name,
    logger,
  };
  server.on('request', (req, res) => void dispatch(req, res, ctx));
  server.on('clientError', (err: Error, socket: Duplex) =>
    answerClientError(err, socket, name, logger, options.refusals),
  );
  const listener: Listener = {
    name,
    address,
    close: () => {
      server.closeIdleConnections();
      return closeServer(server, sockets);
    },
  };
  if (tls && 'setSecureContext' in server) {
    listener.reloadTls = async () => server.setSecureContext(await loadSecureContextOptions(tls));
  }
  return listener;
}
