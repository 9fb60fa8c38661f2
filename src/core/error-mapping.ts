/**
 * The one place that maps an error to the wire: a CONNACK before the session exists, a
 * DISCONNECT for MQTT 5 afterwards, and a plain close for MQTT 3.x.
 */
import type { Logger } from '../ports/index.js';
import type { Packet, ProtocolVersion } from '../protocol/index.js';
import {
  encode,
  isMqttError,
  MqttError,
  REASON_CODE_NAMES,
  ReasonCode,
  toV3ConnackCode,
} from '../protocol/index.js';
import { AuthenticationFailure } from './auth-failure.js';
import type { ClientInfo } from './client-info.js';
import type { CloseReason, ConnectionState } from './handler-context.js';
import type { RefusalLog } from './limits.js';

/** Where in its life a connection failed. */
export type FailurePhase = 'before-connect' | 'connecting' | 'connected';

/** What to send before closing (undefined: close without a packet). */
export interface WireFailure {
  packet: Packet | undefined;
  /** Version to encode `packet` with (a v3 CONNACK may answer an unknown level). */
  version: ProtocolVersion;
  reasonCode: number;
}

/**
 * Converts anything thrown by a handler into an MqttError. A store that cannot be reached
 * (code `STORE_UNAVAILABLE`, e.g. Redis during a failover) is 0x88 Server unavailable (v3:
 * 0x03), so the client retries later or elsewhere; a full store 0x97 Quota exceeded; anything
 * else 0x83.
 */
export function toMqttError(err: unknown): MqttError {
  if (isMqttError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'STORE_UNAVAILABLE') {
    return new MqttError(ReasonCode.ServerUnavailable, `the store is unavailable: ${message}`);
  }
  if (code === 'STORE_FULL') {
    return new MqttError(ReasonCode.QuotaExceeded, `the store is full: ${message}`);
  }
  return new MqttError(ReasonCode.ImplementationSpecificError, `internal error: ${message}`);
}

/**
 * Decides the packet that answers `error`.
 * - Before a valid CONNECT: only an unsupported protocol level is answered, with a 3.1.1
 *   CONNACK 0x01 [MQTT-3.1.2-2]; anything else closes silently [MQTT-3.1.4-1].
 * - While connecting: CONNACK with the reason code (v5) or its v3 return code [MQTT-3.2.2-6].
 * - Connected: v5 DISCONNECT with the reason code [MQTT-4.13.1-1]; v3 closes [MQTT-4.8.0-1].
 */
export function mapErrorToWire(
  error: MqttError,
  phase: FailurePhase,
  version: ProtocolVersion | undefined,
  includeReasonString: boolean,
): WireFailure {
  const code = error.reasonCode;
  if (phase === 'before-connect') {
    if (code === ReasonCode.UnsupportedProtocolVersion) {
      return {
        packet: { type: 'connack', sessionPresent: false, reasonCode: 0x01 },
        version: 4,
        reasonCode: code,
      };
    }
    return { packet: undefined, version: version ?? 4, reasonCode: code };
  }
  const properties = includeReasonString ? { reasonString: describe(error) } : undefined;
  if (phase === 'connecting') {
    if (version === 5) {
      return {
        packet: { type: 'connack', sessionPresent: false, reasonCode: code, properties },
        version: 5,
        reasonCode: code,
      };
    }
    return {
      packet: { type: 'connack', sessionPresent: false, reasonCode: toV3ConnackCode(code) },
      version: version ?? 4,
      reasonCode: code,
    };
  }
  if (version === 5) {
    return {
      packet: { type: 'disconnect', reasonCode: code, properties },
      version: 5,
      reasonCode: code,
    };
  }
  return { packet: undefined, version: version ?? 4, reasonCode: code };
}

function describe(error: MqttError): string {
  return error.message || (REASON_CODE_NAMES[error.reasonCode] ?? 'error');
}

/** A connection as {@link failConnection} sees it. */
export interface FailingConnection {
  readonly state: ConnectionState;
  readonly version: ProtocolVersion | undefined;
  readonly client: Pick<ClientInfo, 'clientId' | 'username' | 'remoteAddress' | 'listener'>;
  readonly peer: { readonly requestProblemInformation: boolean };
  readonly handshake: { readonly redirectReference: string | undefined } | undefined;
  readonly core: {
    readonly metrics: { protocolErrors: number };
    readonly logger: Logger;
    readonly refusals: Pick<RefusalLog, 'note'>;
  };
  send(packet: Packet): void;
  writeBytes(bytes: Buffer): void;
  finish(reason: CloseReason): void;
}

/**
 * Fails a connection that has not ended with `err`: counts and logs it, sends what
 * {@link mapErrorToWire} decides (with the Server Reference of a redirection [MQTT-4.11],
 * within the client's Maximum Packet Size [MQTT-3.1.2-25]) and ends the connection.
 */
export function failConnection(conn: FailingConnection, err: unknown): void {
  const error = toMqttError(err);
  const state = conn.state;
  const phase =
    state === 'awaiting-connect'
      ? 'before-connect'
      : state === 'authenticating'
        ? 'connecting'
        : 'connected';
  const version = conn.version;
  // A reason string only when the client did not ask for no problem information [MQTT-3.1.2-29].
  const wire = mapErrorToWire(error, phase, version, conn.peer.requestProblemInformation);
  conn.core.metrics.protocolErrors++;
  logFailure(conn, error, phase);
  const redirect = conn.handshake?.redirectReference;
  if (wire.packet?.type === 'connack' && wire.version === 5 && redirect) {
    wire.packet.properties = { ...wire.packet.properties, serverReference: redirect };
  }
  if (wire.packet) {
    if (wire.version === version) conn.send(wire.packet);
    else conn.writeBytes(encode(wire.packet, wire.version));
  }
  conn.finish({ graceful: false, reasonCode: error.reasonCode, reason: error.message });
}

/** A failed login: who (client id, username, address, listener) and why, for the operator. */
function authFailureFields(failure: {
  conn: FailingConnection;
  error: AuthenticationFailure;
}): Record<string, unknown> {
  const { conn, error } = failure;
  return {
    clientId: conn.client.clientId || undefined,
    username: conn.client.username,
    address: conn.client.remoteAddress,
    listener: conn.client.listener,
    protocolVersion: conn.version,
    reasonCode: error.reasonCode,
    reason: error.logReason,
  };
}

/**
 * One log line per failed connection: a refused login at warn (counted in
 * `refused['auth-failed']`, throttled), a refused CONNECT or a redirection at info, a
 * protocol error at info (an internal error at error).
 */
function logFailure(conn: FailingConnection, error: MqttError, phase: FailurePhase): void {
  if (error instanceof AuthenticationFailure) {
    conn.core.refusals.note('auth-failed', authFailureFields, 'authentication failed', {
      conn,
      error,
    });
    return;
  }
  const code = error.reasonCode;
  const level = code === ReasonCode.ImplementationSpecificError ? 'error' : 'info';
  const redirected = code === ReasonCode.UseAnotherServer || code === ReasonCode.ServerMoved;
  const message =
    phase !== 'connecting'
      ? 'closing connection: protocol error'
      : redirected
        ? 'client redirected'
        : 'connection refused';
  conn.core.logger[level](
    {
      clientId: conn.client.clientId || undefined,
      address: conn.client.remoteAddress,
      listener: conn.client.listener,
      reasonCode: code,
      specId: error.specId,
      err: error.message,
    },
    message,
  );
}
