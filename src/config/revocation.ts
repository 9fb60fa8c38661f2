/**
 * After SIGHUP reloads the password files: the open connections whose login the new files
 * no longer accept are closed. A login is revoked when its user was removed from the
 * password file of the client's listener, or got another password hash there.
 */
import type { Broker } from '../broker.js';
import type { ClientInfo } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import { ReasonCode } from '../protocol/index.js';
import type { ReloadResult } from './security.js';
import type { PlannedListener } from './to-options.js';

/**
 * A predicate for the clients whose login `results` revoked: a verified username on a
 * listener whose password file now lacks it or holds another hash for it. Clients that a
 * certificate identity authenticated (useIdentityAsUsername) are not password logins.
 * Undefined when nothing was revoked.
 */
export function revokedLogins(
  listeners: readonly PlannedListener[],
  results: readonly ReloadResult[],
): ((client: ClientInfo) => boolean) | undefined {
  const revokedByFile = new Map<string, Set<string>>();
  for (const result of results) {
    if (result.kind === 'password' && result.revoked !== undefined && result.revoked.length > 0) {
      revokedByFile.set(result.path, new Set(result.revoked));
    }
  }
  if (revokedByFile.size === 0) return undefined;
  const revokedByListener = new Map<string, { users: Set<string>; certificates: boolean }>();
  for (const { listen, auth } of listeners) {
    const users =
      auth.passwordFile === undefined ? undefined : revokedByFile.get(auth.passwordFile);
    if (users !== undefined) {
      revokedByListener.set(listen.name, { users, certificates: auth.identityAsUsername });
    }
  }
  return (client) => {
    const revoked = revokedByListener.get(client.listener);
    if (revoked === undefined || !client.usernameVerified || client.username === undefined) {
      return false;
    }
    if (revoked.certificates && client.certificateIdentity !== undefined) return false;
    return revoked.users.has(client.username);
  };
}

/**
 * Closes the connections whose login `results` revoked: MQTT 5 DISCONNECT 0x98
 * (Administrative action: the operator changed the password file), MQTT 3.x close, without
 * their wills. Returns how many were closed (and logs it when any were).
 */
export function closeRevokedLogins(
  broker: Broker,
  listeners: readonly PlannedListener[],
  results: readonly ReloadResult[],
  logger: Logger,
): number {
  const match = revokedLogins(listeners, results);
  if (match === undefined) return 0;
  const closed = broker.disconnect(match, {
    reasonCode: ReasonCode.AdministrativeAction,
    reason: 'login revoked: user removed from the password file or password changed',
  });
  const users = results.flatMap((r) => r.revoked ?? []);
  logger.info(
    { closed, users },
    'closed the connections of users removed or changed in the password file',
  );
  return closed;
}
