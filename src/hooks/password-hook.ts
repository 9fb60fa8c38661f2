/**
 * Authentication against a password file (Mosquitto's `password_file`), every check going
 * through a {@link LoginGuard} (throttling, a success cache and a bounded hash queue).
 */
import type { AuthenticateRequest, AuthenticateResult, Hook } from '../core/index.js';
import { ReasonCode } from '../protocol/index.js';
import { LoginGuard, type LoginVerdict } from './login-guard.js';
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
  /**
   * Throttles, caches and queues the password checks. Hooks of one broker should share one
   * (one hash queue for the whole process). Default: a guard of this hook's own, with the
   * default settings and no refusal counters.
   */
  guard?: LoginGuard;
}

const ALLOWED: AuthenticateResult = { result: 'allow' };

/**
 * A refused login: v5 CONNACK 0x86, MQTT 3.1.1 return code 0x04 [MQTT-3.2.2-6], the same for
 * every cause (telling them apart would let a client probe for user names); the broker's log
 * says which (`logReason`).
 */
function badCredentials(logReason: string): AuthenticateResult {
  return { result: 'deny', reasonCode: ReasonCode.BadUserNameOrPassword, logReason };
}

const NO_PASSWORD = badCredentials('no password');
const UNKNOWN_USER = badCredentials('unknown user');
const BAD_PASSWORD = badCredentials('bad password');
const ABANDONED = badCredentials('connection closed before its password was checked');

/** The answer to a guard verdict other than 'allow', for a user the file has (`known`) or not. */
function refusal(
  verdict: Exclude<LoginVerdict, { result: 'allow' }>,
  known: boolean,
): AuthenticateResult {
  switch (verdict.result) {
    case 'throttled':
      return {
        result: 'deny',
        // v5 CONNACK 0x9F, a Connect Reason Code [MQTT-3.2.2-8]; MQTT 3.1.1 has no such
        // code: 0x03 Server unavailable.
        reasonCode: ReasonCode.ConnectionRateExceeded,
        reasonString: `too many failed logins from this address; retry in ${Math.ceil(verdict.retryAfterMs / 1000)} s`,
      };
    case 'busy':
      return {
        result: 'deny',
        // v5 CONNACK 0x89 [MQTT-3.2.2-8]; v3 0x03 Server unavailable.
        reasonCode: ReasonCode.ServerBusy,
        reasonString: 'too many logins are waiting for a password check; retry later',
      };
    case 'abandoned':
      return ABANDONED; // nobody reads the answer
    default:
      return known ? BAD_PASSWORD : UNKNOWN_USER;
  }
}

/**
 * A hook that checks username and password against `file` (a {@link PasswordFile}, or a
 * reloadable holder of one, read afresh on every login).
 *
 * It answers only for clients that give a username without an MQTT 5 authentication method;
 * it defers the others (anonymous clients, enhanced authentication) to the next hooks. A
 * wrong or missing password is refused with 0x86 (v3: 0x04); an unknown user too, unless
 * `deferUnknown` is set: such users are passed on at once, unhashed (the next hook answers
 * in its own time anyway). Otherwise unknown users cost the same hashing time as known ones.
 * A source address that failed too often is refused with 0x9F (v3 0x03), and a login that
 * finds the hash queue full with 0x89 (v3 0x03); see login-guard.ts.
 */
export function passwordFileHook(
  file: PasswordFile | Current<PasswordFile>,
  options: PasswordHookOptions = {},
): Hook {
  const source: Current<PasswordFile> = 'current' in file ? file : fixed(file);
  const listeners = options.listeners === undefined ? undefined : new Set(options.listeners);
  const guard = options.guard ?? new LoginGuard();
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
      if (request.password === undefined) return NO_PASSWORD;
      const passwords = source.current; // one snapshot for the whole check, even across a reload
      const username = client.username;
      const known = passwords.has(username);
      if (options.deferUnknown === true && !known) return { result: 'defer' };
      const password = request.password.toString('utf8');
      const verdict = await guard.check({
        remoteAddress: client.remoteAddress,
        username,
        password,
        scope: passwords,
        isClosed: () => request.closed === true,
        verify: () => passwords.verify(username, password),
      });
      return verdict.result === 'allow' ? ALLOWED : refusal(verdict, known);
    },
  };
}
