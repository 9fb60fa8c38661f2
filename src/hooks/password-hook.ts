/**
 * Authentication against a password file (Mosquitto's `password_file`).
 */
import type { AuthenticateRequest, AuthenticateResult, Hook } from '../core/index.js';
import { ReasonCode } from '../protocol/index.js';
import type { PasswordFile } from './password-file.js';
import { type Current, fixed } from './reloadable.js';

/** Options of {@link passwordFileHook}. */
export interface PasswordHookOptions {
  /** Listener names this hook applies to; every listener when omitted. */
  listeners?: readonly string[];
  /**
   * Defer users who are not in the file, so another authenticate hook (a custom auth
   * service) can decide. Default false: they are refused like a wrong password.
   */
  deferUnknown?: boolean;
  /**
   * Leave clients with a verified certificate identity to other hooks (listeners that use
   * the certificate identity as username). Default false.
   */
  skipCertificateClients?: boolean;
}

const BAD_CREDENTIALS: AuthenticateResult = {
  result: 'deny',
  // v5 CONNACK 0x86; MQTT 3.1.1 return code 0x04 [MQTT-3.2.2-6].
  reasonCode: ReasonCode.BadUserNameOrPassword,
};

/**
 * A hook that checks username and password against `file` (a {@link PasswordFile}, or a
 * reloadable holder of one, read afresh on every login).
 *
 * It answers only for clients that give a username without an MQTT 5 authentication method;
 * it defers the others (anonymous clients, enhanced authentication) to the next hooks. A
 * wrong or missing password is refused with 0x86 (v3: 0x04); an unknown user too, unless
 * `deferUnknown` is set. Unknown users cost the same hashing time as known ones.
 */
export function passwordFileHook(
  file: PasswordFile | Current<PasswordFile>,
  options: PasswordHookOptions = {},
): Hook {
  const source: Current<PasswordFile> = 'current' in file ? file : fixed(file);
  const listeners = options.listeners === undefined ? undefined : new Set(options.listeners);
  return {
    name: 'password-file',
    async authenticate(request: AuthenticateRequest): Promise<AuthenticateResult> {
      const { client } = request;
      if (listeners !== undefined && !listeners.has(client.listener)) return { result: 'defer' };
      if (request.authenticationMethod !== undefined || client.username === undefined) {
        return { result: 'defer' };
      }
      if (options.skipCertificateClients === true && client.certificateIdentity !== undefined) {
        return { result: 'defer' };
      }
      if (request.password === undefined) return BAD_CREDENTIALS;
      const passwords = source.current; // one snapshot for the whole check, even across a reload
      const ok = await passwords.verify(client.username, request.password.toString('utf8'));
      if (ok) return { result: 'allow' };
      if (options.deferUnknown === true && !passwords.has(client.username)) {
        return { result: 'defer' };
      }
      return BAD_CREDENTIALS;
    },
  };
}
