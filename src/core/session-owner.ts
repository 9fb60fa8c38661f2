/**
 * Client ids bound to their owner. A session belongs to the identity of the client that
 * created it: its verified username, or "anonymous" when it has none (ClientInfo.
 * usernameVerified). With `bindClientIdToUser` (the default) a client of another identity
 * cannot take that session over, live or stored, nor discard it with a clean start: the
 * CONNECT is refused with 0x85 Client Identifier not valid (v3 0x02 Identifier rejected)
 * [MQTT-3.1.3-8], counted in `refused['client-id-owner']` and logged (throttled).
 *
 * What it does not do: a client id with no session (never used, or its session ended) is
 * free for anyone, so ACL `%c` rules still follow whoever holds the id at the moment. Two
 * clients without a verified username share the one "anonymous" identity.
 */
import type { SessionOwner } from '../ports/index.js';
import { MqttError, ReasonCode } from '../protocol/index.js';
import type { ClientInfo } from './hooks.js';
import type { RefusalLog } from './limits.js';
import type { Session } from './session.js';

/**
 * The one owner of every anonymous session: shared, so an idle anonymous session holds no
 * owner object of its own (32 B each). Never mutated: the stores copy owners they keep.
 */
const ANONYMOUS: SessionOwner = Object.freeze({ username: null });

/** The owner a session created by `client` gets: its verified username, or anonymous. */
export function ownerOf(client: ClientInfo): SessionOwner {
  const verified = client.usernameVerified && client.username !== undefined;
  return verified ? { username: client.username as string } : ANONYMOUS;
}

function describe(owner: SessionOwner): string {
  return owner.username ?? '(anonymous)';
}

/**
 * Checks that `client` may have `session` (undefined: there is none). Returns the owner
 * the session has once the client holds it; throws MqttError 0x85 (counted and logged) when
 * the binding is on and the session belongs to another identity. A session without an
 * owner (stored before owners were recorded) goes to the first client that resumes it.
 */
export function claimSession(
  session: Session | undefined,
  client: ClientInfo,
  bindClientIdToUser: boolean,
  refusals: RefusalLog,
): SessionOwner {
  const claimant = ownerOf(client);
  const owner = session?.owner;
  if (!bindClientIdToUser || owner === undefined || owner.username === claimant.username) {
    return claimant;
  }
  refusals.note(
    'client-id-owner',
    {
      clientId: client.clientId,
      listener: client.listener,
      claimant: describe(claimant),
      owner: describe(owner),
    },
    "connection refused: the client id's session belongs to another user (bindClientIdToUser)",
  );
  throw new MqttError(
    ReasonCode.ClientIdentifierNotValid,
    'client identifier in use by another user',
    'MQTT-3.1.3-8',
  );
}
