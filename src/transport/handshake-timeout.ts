/**
 * The handshake deadline of TLS and WebSocket listeners: a socket has `connectTimeoutMs` to
 * finish its TLS handshake, and then (ws, wss) as long again to send its complete HTTP
 * upgrade request; after that it is closed and counted in `refused['handshake-timeout']`.
 * Without it an idle socket, a partial ClientHello or upgrade headers sent one byte at a time
 * held a file descriptor for as long as the peer liked (the core's connect timeout only
 * starts once the transport hands the connection over).
 *
 * Both deadlines are Node's own, made to close: `handshakeTimeout` of a TLS server only
 * emits 'tlsClientError' (its socket stays open unless a listener destroys it), and the
 * HTTP server's `headersTimeout`/`requestTimeout` are checked every
 * `connectionsCheckingInterval`. Both count from the start, not from the last byte, so a
 * slow drip does not extend them (test/transport/handshake-timeout.test.ts).
 */
import type { Server as HttpServer } from 'node:http';
import type { Server as NetServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { BrokerCore } from '../core/index.js';

/** Server options that bound a TLS handshake by the connect timeout. */
export function tlsHandshakeOptions(core: BrokerCore): { handshakeTimeout: number } {
  return { handshakeTimeout: core.options.connectTimeoutMs };
}

/**
 * HTTP server options that bound the upgrade request by the connect timeout. The check
 * runs every quarter of the timeout (at most every second, at least every 100 ms), so a
 * socket is closed at most that long after its deadline.
 */
export function httpHandshakeOptions(core: BrokerCore): {
  headersTimeout: number;
  requestTimeout: number;
  connectionsCheckingInterval: number;
} {
  const timeout = core.options.connectTimeoutMs;
  return {
    headersTimeout: timeout,
    requestTimeout: timeout,
    connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.floor(timeout / 4))),
  };
}

const TIMEOUT_CODES: ReadonlySet<string | undefined> = new Set([
  'ERR_TLS_HANDSHAKE_TIMEOUT',
  'ERR_HTTP_REQUEST_TIMEOUT',
]);

/** A peer that went away mid-handshake: nothing an operator can act on (port scans, probes). */
const HANGUP_CODES: ReadonlySet<string | undefined> = new Set(['ECONNRESET', 'EPIPE']);

/**
 * Counts a timed-out handshake; counts and logs (at warn, throttled) a failed TLS handshake
 * with the peer's address and OpenSSL's reason (a client certificate refused, no shared
 * version or cipher, plain MQTT sent to a TLS port); logs other failures (a hang-up, a bad
 * HTTP request) at debug.
 */
function report(core: BrokerCore, listener: string, err: Error, socket: Duplex): void {
  const remoteAddress = (socket as Socket).remoteAddress;
  const code = (err as NodeJS.ErrnoException).code;
  if (TIMEOUT_CODES.has(code)) {
    core.refusals.note(
      'handshake-timeout',
      { listener, remoteAddress, timeoutMs: core.options.connectTimeoutMs, code },
      'connection closed: handshake not done within connectTimeout',
    );
    return;
  }
  if (isTlsError(err) && !HANGUP_CODES.has(code)) {
    core.refusals.note(
      'tls-handshake',
      { listener, address: remoteAddress, code, err: err.message },
      'TLS handshake failed',
    );
    return;
  }
  core.logger.debug({ err: err.message, code, remoteAddress, listener }, 'handshake failed');
}

/** An error of the TLS layer (OpenSSL's, or Node's TLS checks), not of HTTP or the socket. */
function isTlsError(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return (
    code.startsWith('ERR_SSL_') ||
    code.startsWith('ERR_TLS_') ||
    (err as { library?: unknown }).library !== undefined
  );
}

/**
 * A TLS listener (mqtts): every failed handshake (timed out, refused client certificate,
 * no shared cipher or version) closes its socket; Node leaves that to the listener.
 */
export function closeFailedTlsHandshakes(server: NetServer, core: BrokerCore, listener: string) {
  server.on('tlsClientError', (err: Error, socket: Socket) => {
    report(core, listener, err, socket);
    socket.destroy();
  });
}

const HTTP_ANSWERS: Readonly<Record<string, string>> = {
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
};

/**
 * An HTTP(S) listener (ws, wss): a failed TLS handshake or a bad or late HTTP request closes
 * its socket, with the HTTP answer Node itself would give (408, 431 or 400) when the socket
 * can still carry one. Node's https server routes TLS errors here too.
 */
export function closeFailedHttpHandshakes(server: HttpServer, core: BrokerCore, listener: string) {
  server.on('clientError', (err: Error, socket: Duplex) => {
    report(core, listener, err, socket);
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const isHttpError = code.startsWith('HPE_') || code === 'ERR_HTTP_REQUEST_TIMEOUT';
    if (isHttpError && socket.writable) {
      const status = HTTP_ANSWERS[code] ?? '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
      socket.once('finish', () => socket.destroy());
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    socket.destroy();
  });
}
