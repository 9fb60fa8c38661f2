/**
 * The HTTP listener (`listeners: - type: http`): a thin `node:http` (or, with `tls`,
 * `node:https`) server that dispatches each request by path prefix to the broker's routes
 * (metrics, health checks, the admin API). It bounds what a client can make it hold: the
 * request body (`maxBodyBytes`), the time to send a request (`requestTimeoutMs`, then 408)
 * and, optionally, its open sockets.
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
import { type DispatchContext, dispatch } from './dispatch.js';
import { PROBLEM_CONTENT_TYPE, problemOf } from './problem.js';
import type { HttpRoute } from './route.js';

/** Default cap of a request body: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Default time a client has to send a whole request: 10 s. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** What an HTTP listener takes besides its address. */
export interface HttpServeOptions {
  /** Largest request body accepted (413 beyond; a body needs Content-Length). Default 1 MiB. */
  maxBodyBytes?: number;
  /** Time a client has to send a whole request (headers and body); then 408. Default 10000. */
  requestTimeoutMs?: number;
}

/** Options of an HTTP listener; with `tls` it serves HTTPS. */
export interface HttpListenerOptions extends HttpServeOptions {
  port: number;
  host?: string | undefined;
  /** Name used in logs; default 'http' or 'https'. */
  name?: string | undefined;
  tls?: TlsOptions | undefined;
  /** Open sockets on this listener; more are closed at once. Default: no cap. */
  maxConnections?: number | undefined;
}

/**
 * Answers a request Node could not parse or that took too long (there is no response object
 * then: the answer goes on the socket), and closes the connection.
 */
function answerClientError(err: Error, socket: Duplex, listener: string, logger: Logger): void {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const status = CLIENT_ERROR_STATUS[code] ?? 400;
  logger.debug({ listener, code, status }, 'HTTP request refused before routing');
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

const CLIENT_ERROR_DETAIL: Readonly<Record<number, string>> = {
  408: 'the request was not sent in time (requestTimeout)',
  431: 'the request headers are too large',
  400: 'the request is not valid HTTP/1.1',
};

/** How often Node checks the request timeout: often enough for short timeouts. */
function checkingInterval(timeoutMs: number): number {
  return Math.max(10, Math.min(1000, Math.floor(timeoutMs / 4)));
}

async function createServer(
  options: HttpListenerOptions,
  timeoutMs: number,
): Promise<HttpServer | HttpsServer> {
  const timeouts = {
    requestTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    connectionsCheckingInterval: checkingInterval(timeoutMs),
  };
  if (options.tls === undefined) return createHttpServer(timeouts);
  const tls = await loadServerTlsOptions(options.tls);
  return createHttpsServer({ ...tls, ...timeouts, handshakeTimeout: timeoutMs });
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
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const server = await createServer(options, timeoutMs);
  if (options.maxConnections !== undefined && options.maxConnections > 0) {
    server.maxConnections = options.maxConnections;
  }
  const sockets = trackSockets(server);
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
    answerClientError(err, socket, name, logger),
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
