/**
 * Authentication: plain (username/password through the authenticate hooks) and MQTT 5
 * enhanced authentication (AUTH exchanges), re-authentication, and server redirection.
 */
import type { AuthPacket, ConnectPacket } from '../protocol/index.js';
import { MqttError, ReasonCode } from '../protocol/index.js';
import type { ConnectContext } from './connect-flow.js';
import { completeConnect } from './connect-flow.js';
import type { Connection } from './connection.js';
import type { AuthenticateResult } from './hooks.js';

/** The step of authentication run for CONNECT. */
export function authenticate(
  conn: Connection,
  packet: ConnectPacket,
  context: ConnectContext,
): void | Promise<void> {
  const broker = conn.broker;
  const method = packet.properties?.authenticationMethod;
  if (method !== undefined) {
    conn.authMethod = method;
    if (!broker.hooks.hasAuthenticate) {
      throw new MqttError(
        ReasonCode.BadAuthenticationMethod,
        `authentication method ${method} not supported`,
      );
    }
  }
  if (!broker.hooks.hasAuthenticate) {
    if (!broker.options.allowAnonymous) {
      throw new MqttError(ReasonCode.NotAuthorized, 'anonymous clients are not allowed');
    }
    completeConnect(conn, context);
    return;
  }
  return runAuthenticate(conn, packet.password, packet.properties?.authenticationData, context);
}

async function runAuthenticate(
  conn: Connection,
  password: Buffer | undefined,
  data: Buffer | undefined,
  context: ConnectContext,
): Promise<void> {
  const result = await conn.broker.hooks.authenticate({
    client: conn.client,
    password,
    authenticationMethod: conn.authMethod,
    authenticationData: data,
    step: conn.authStep,
    get closed() {
      return conn.closed;
    },
  });
  if (conn.closed) return;
  applyResult(conn, result, context);
}

function applyResult(conn: Connection, result: AuthenticateResult, context: ConnectContext): void {
  if (result.username !== undefined) conn.client = { ...conn.client, username: result.username };
  switch (result.result) {
    case 'allow':
      if (conn.client.username !== undefined && result.anonymous !== true) {
        conn.client = { ...conn.client, usernameVerified: true };
      }
      context.authenticationData = result.authenticationData;
      completeConnect(conn, context);
      return;
    case 'continue':
      if (conn.authMethod === undefined) {
        throw new MqttError(
          ReasonCode.BadAuthenticationMethod,
          'hook asked to continue without an authentication method',
        );
      }
      conn.authStep++;
      conn.pendingContext = context;
      // [MQTT-4.12.0-2] the server continues with AUTH 0x18.
      sendAuth(conn, ReasonCode.ContinueAuthentication, result.authenticationData);
      return;
    case 'redirect':
      throw redirectError(conn, result);
    default: {
      const code =
        result.reasonCode ??
        (conn.authMethod ? ReasonCode.NotAuthorized : ReasonCode.BadUserNameOrPassword);
      throw new MqttError(code, result.reasonString ?? 'authentication failed');
    }
  }
}

/** Server redirection [MQTT-4.11]: CONNACK 0x9C (use another server) or 0x9D (moved) with a Server Reference. */
function redirectError(conn: Connection, result: AuthenticateResult): MqttError {
  const code =
    result.reasonCode === ReasonCode.ServerMoved
      ? ReasonCode.ServerMoved
      : ReasonCode.UseAnotherServer;
  conn.redirectReference = result.serverReference;
  return new MqttError(code, `redirected to ${result.serverReference ?? 'another server'}`);
}

/** AUTH from the client: the next step of an exchange, or re-authentication once connected. */
export function handleAuth(conn: Connection, packet: AuthPacket): void | Promise<void> {
  const method = packet.properties?.authenticationMethod;
  if (conn.authMethod === undefined || method !== conn.authMethod) {
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
    return runAuthenticate(
      conn,
      undefined,
      packet.properties?.authenticationData,
      conn.pendingContext ?? {
        assigned: false,
        serverKeepAlive: undefined,
      },
    );
  }
  if (code !== ReasonCode.ReAuthenticate && code !== ReasonCode.ContinueAuthentication) {
    throw new MqttError(ReasonCode.ProtocolError, 'unexpected AUTH reason code');
  }
  return reauthenticate(conn, packet.properties?.authenticationData);
}

/** [MQTT-4.12.1] re-authentication while connected; failure closes with 0x87. */
async function reauthenticate(conn: Connection, data: Buffer | undefined): Promise<void> {
  conn.authStep++;
  const result = await conn.broker.hooks.authenticate({
    client: conn.client,
    password: undefined,
    authenticationMethod: conn.authMethod,
    authenticationData: data,
    step: conn.authStep,
    get closed() {
      return conn.closed;
    },
  });
  if (conn.state !== 'connected') return;
  if (result.result === 'allow') {
    sendAuth(conn, ReasonCode.Success, result.authenticationData);
  } else if (result.result === 'continue') {
    sendAuth(conn, ReasonCode.ContinueAuthentication, result.authenticationData);
  } else {
    // 0x8C (every hook deferred the method) is a CONNACK code, not a DISCONNECT one.
    const code =
      result.reasonCode === undefined || result.reasonCode === ReasonCode.BadAuthenticationMethod
        ? ReasonCode.NotAuthorized
        : result.reasonCode;
    throw new MqttError(code, 're-authentication failed');
  }
}

/** AUTH with the connection's method and the hook's data. */
function sendAuth(conn: Connection, reasonCode: number, data: Buffer | undefined): void {
  conn.send({
    type: 'auth',
    reasonCode,
    properties: { authenticationMethod: conn.authMethod, authenticationData: data },
  });
}
