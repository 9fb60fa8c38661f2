/**
 * Authentication: plain (username/password through the authenticate hooks) and MQTT 5
 * enhanced authentication (AUTH exchanges), re-authentication, and server redirection.
 */
import type { AuthPacket } from '../protocol/index.js';
import { MqttError, ReasonCode } from '../protocol/index.js';
import { AuthenticationFailure, describeRefusal } from './auth-failure.js';
import { completeConnect } from './connack-flow.js';
import type { HandshakeContext } from './handler-context.js';
import type { Handshake } from './handshake.js';
import type { AuthenticateRequest, AuthenticateResult } from './hooks.js';

/**
 * What the authenticate hooks get for one step of a connection's authentication: `closed`
 * reads the connection live. A class with the getter on its prototype rather than an object
 * literal with a `get closed()`: a literal with an accessor is built through V8's runtime,
 * with a new getter function, each time. (A hook that copies the request with a spread
 * gets no `closed`, which the hook API reads as "not tracked": treat as open.)
 */
class ConnectionAuthRequest implements AuthenticateRequest {
  readonly #conn: HandshakeContext;
  readonly client: AuthenticateRequest['client'];

  constructor(
    conn: HandshakeContext,
    readonly password: Buffer | undefined,
    readonly authenticationMethod: string | undefined,
    readonly authenticationData: Buffer | undefined,
    readonly step: number,
  ) {
    this.#conn = conn;
    this.client = conn.client;
  }

  get closed(): boolean {
    return this.#conn.closed;
  }
}

/** The step of authentication run for CONNECT. */
export function authenticate(conn: HandshakeContext, handshake: Handshake): void | Promise<void> {
  const core = conn.core;
  const packet = handshake.connect!;
  const method = packet.properties?.authenticationMethod;
  if (method !== undefined) {
    handshake.authMethod = method;
    if (!core.hooks.hasAuthenticate) {
      throw new AuthenticationFailure(
        ReasonCode.BadAuthenticationMethod,
        `authentication method ${method} not supported`,
      );
    }
  }
  if (!core.hooks.hasAuthenticate) {
    if (!core.options.allowAnonymous) {
      core.metrics.authFailures++;
      throw new AuthenticationFailure(
        ReasonCode.NotAuthorized,
        'anonymous clients are not allowed',
      );
    }
    return completeConnect(conn);
  }
  return runAuthenticate(conn, handshake, packet.password, packet.properties?.authenticationData);
}

function runAuthenticate(
  conn: HandshakeContext,
  handshake: Handshake,
  password: Buffer | undefined,
  data: Buffer | undefined,
): void | Promise<void> {
  const result = conn.core.hooks.authenticate(
    new ConnectionAuthRequest(conn, password, handshake.authMethod, data, handshake.authStep),
  );
  // Hooks that answer synchronously (the default listener policy) cost no promise, no
  // microtask and no pause and resume of the socket (packet-input.ts) per CONNECT.
  if (!('then' in result)) return applyResult(conn, handshake, result);
  return result.then((settled) =>
    conn.closed ? undefined : applyResult(conn, handshake, settled),
  );
}

function applyResult(
  conn: HandshakeContext,
  handshake: Handshake,
  result: AuthenticateResult,
): void | Promise<void> {
  if (result.username !== undefined) conn.identify({ ...conn.client, username: result.username });
  switch (result.result) {
    case 'allow':
      if (conn.client.username !== undefined && result.anonymous !== true) {
        conn.identify({ ...conn.client, usernameVerified: true });
      }
      handshake.authenticationData = result.authenticationData;
      return completeConnect(conn);
    case 'continue':
      if (handshake.authMethod === undefined) {
        throw new MqttError(
          ReasonCode.BadAuthenticationMethod,
          'hook asked to continue without an authentication method',
        );
      }
      handshake.authStep++;
      // [MQTT-4.12.0-2] the server continues with AUTH 0x18.
      sendAuth(conn, handshake, ReasonCode.ContinueAuthentication, result.authenticationData);
      return;
    case 'redirect':
      throw redirectError(handshake, result);
    default: {
      conn.core.metrics.authFailures++;
      const code =
        result.reasonCode ??
        (handshake.authMethod ? ReasonCode.NotAuthorized : ReasonCode.BadUserNameOrPassword);
      throw new AuthenticationFailure(
        code,
        result.reasonString ?? 'authentication failed',
        result.logReason ?? describeRefusal(code, result.reasonString),
      );
    }
  }
}

/** Server redirection [MQTT-4.11]: CONNACK 0x9C (use another server) or 0x9D (moved) with a Server Reference. */
function redirectError(handshake: Handshake, result: AuthenticateResult): MqttError {
  const code =
    result.reasonCode === ReasonCode.ServerMoved
      ? ReasonCode.ServerMoved
      : ReasonCode.UseAnotherServer;
  handshake.redirectReference = result.serverReference;
  return new MqttError(code, `redirected to ${result.serverReference ?? 'another server'}`);
}

/** AUTH from the client: the next step of an exchange, or re-authentication once connected. */
export function handleAuth(conn: HandshakeContext, packet: AuthPacket): void | Promise<void> {
  // Once connected, a client that used no authentication method has no handshake left.
  const handshake = conn.handshake;
  const method = packet.properties?.authenticationMethod;
  if (handshake?.authMethod === undefined || method !== handshake.authMethod) {
    // [MQTT-4.12.0-5] the method must match the one in CONNECT.
    throw new MqttError(
      ReasonCode.ProtocolError,
      'AUTH without the authentication method in use',
      'MQTT-4.12.0-5',
    );
  }
  const code = packet.reasonCode ?? 0;
  if (conn.state === 'authenticating') {
    if (code !== ReasonCode.ContinueAuthentication) {
      throw new MqttError(
        ReasonCode.ProtocolError,
        'AUTH during connect must continue authentication',
      );
    }
    return runAuthenticate(conn, handshake, undefined, packet.properties?.authenticationData);
  }
  if (code !== ReasonCode.ReAuthenticate && code !== ReasonCode.ContinueAuthentication) {
    throw new MqttError(ReasonCode.ProtocolError, 'unexpected AUTH reason code');
  }
  return reauthenticate(conn, handshake, packet.properties?.authenticationData);
}

/** [MQTT-4.12.1] re-authentication while connected; failure closes with 0x87. */
async function reauthenticate(
  conn: HandshakeContext,
  handshake: Handshake,
  data: Buffer | undefined,
): Promise<void> {
  handshake.authStep++;
  const result = await conn.core.hooks.authenticate(
    new ConnectionAuthRequest(conn, undefined, handshake.authMethod, data, handshake.authStep),
  );
  if (conn.state !== 'connected') return;
  if (result.result === 'allow') {
    sendAuth(conn, handshake, ReasonCode.Success, result.authenticationData);
  } else if (result.result === 'continue') {
    sendAuth(conn, handshake, ReasonCode.ContinueAuthentication, result.authenticationData);
  } else {
    conn.core.metrics.authFailures++;
    // 0x8C (every hook deferred the method) is a CONNACK code, not a DISCONNECT one.
    const code =
      result.reasonCode === undefined || result.reasonCode === ReasonCode.BadAuthenticationMethod
        ? ReasonCode.NotAuthorized
        : result.reasonCode;
    throw new AuthenticationFailure(
      code,
      're-authentication failed',
      `re-authentication failed: ${result.logReason ?? describeRefusal(code, result.reasonString)}`,
    );
  }
}

/** AUTH with the connection's method and the hook's data. */
function sendAuth(
  conn: HandshakeContext,
  handshake: Handshake,
  reasonCode: number,
  data: Buffer | undefined,
): void {
  conn.send({
    type: 'auth',
    reasonCode,
    properties: { authenticationMethod: handshake.authMethod, authenticationData: data },
  });
}
