/**
 * How `pub` and `sub` report a failure: the message on stderr (`Error: ...`, unless
 * --quiet), and an exit code with the meaning mosquitto_pub / mosquitto_sub give it:
 *
 *   1    a mistake in the flags, a network failure, a refused publish or subscription
 *   1-5  MQTT 3.1/3.1.1: the CONNACK return code of a refused connection
 *   128+ MQTT 5: the CONNACK reason code of a refused connection (e.g. 134 = 0x86)
 *   7    the connection was lost (libmosquitto's MOSQ_ERR_CONN_LOST)
 *   8    the TLS handshake failed (libmosquitto's MOSQ_ERR_TLS)
 *   27   sub -W: the time ran out
 */
import {
  type ClientOptions,
  ConnectRefusedError,
  describeTarget,
  ServerDisconnectError,
} from '../client/index.js';
import { EXIT_CONNECTION_LOST, EXIT_TLS } from './exit-codes.js';
import { UsageError } from './flag-values.js';
import { describeTlsError, TlsConnectionLost, TlsFailure } from './tls-errors.js';

export { EXIT_CONNECTION_LOST, EXIT_TIMEOUT } from './exit-codes.js';

/** A connection that closed before the work was done (wraps the reason). */
export class ConnectionLostError extends Error {
  override readonly name = 'ConnectionLostError';
}

const NETWORK_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused (is a broker listening there?)',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved now',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOENT: 'no such socket file',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'the local address (-A) is not available',
  ECONNRESET: 'the connection was reset',
};

/** A socket or TLS error of the connect phase, retold with the address it was about. */
export function describeNetworkError(err: unknown, options: ClientOptions): unknown {
  const tls = describeTlsError(err, options.host ?? '127.0.0.1');
  if (tls) return tls;
  const code = (err as NodeJS.ErrnoException)?.code;
  const text = code === undefined ? undefined : NETWORK_ERRORS[code];
  if (text === undefined) return err;
  return new Error(`cannot connect to ${describeTarget(options)}: ${text} (${code})`);
}

/** The exit code for `err`. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof ConnectRefusedError) return err.reasonCode;
  if (
    err instanceof ConnectionLostError ||
    err instanceof TlsConnectionLost ||
    err instanceof ServerDisconnectError
  ) {
    return EXIT_CONNECTION_LOST;
  }
  if (err instanceof TlsFailure) return EXIT_TLS;
  return 1;
}

/** The line to print for `err`. */
export function errorLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return `Error: ${message}\n`;
}

/**
 * Prints `err` on stderr, unless `quiet` (a UsageError is printed even then: --quiet hides
 * runtime errors, not mistakes on the command line), and returns its exit code.
 */
export function reportFailure(err: unknown, quiet: boolean): number {
  if (!quiet || err instanceof UsageError) process.stderr.write(errorLine(err));
  return exitCodeFor(err);
}
