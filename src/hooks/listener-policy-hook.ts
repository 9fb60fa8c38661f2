/**
 * The per-listener rules that close the hook chain, and the `$SYS` guard that opens it.
 *
 * The chain denies when every hook of a kind defers, so the last word for each listener is
 * spelled out here: anonymous clients allowed or not, and "no ACL file means everything is
 * allowed" for listeners without one.
 */
import type {
  AuthenticateRequest,
  AuthenticateResult,
  ClientInfo,
  Hook,
  PublishRequest,
  Verdict,
} from '../core/index.js';
import { ReasonCode } from '../protocol/index.js';

/** What one listener allows. */
export interface ListenerPolicy {
  /** Clients without a username may connect. */
  allowAnonymous: boolean;
  /** A password file is in force (a username that nothing accepted is a bad login). */
  hasPasswordFile: boolean;
  /** An ACL hook decides publish and subscribe for this listener. */
  hasAcl: boolean;
  /** A verified certificate identity authenticates the client and becomes its username. */
  identityAsUsername: boolean;
}

function authenticateBy(policy: ListenerPolicy, request: AuthenticateRequest): AuthenticateResult {
  const { client } = request;
  if (request.authenticationMethod !== undefined) {
    // No built-in hook does enhanced authentication, and a custom hook that does answered
    // before this one: the method is not supported. Refused with 0x8C and closed, never
    // accepted without an exchange [MQTT-4.12.0-1].
    return {
      result: 'deny',
      reasonCode: ReasonCode.BadAuthenticationMethod,
      logReason: `authentication method ${request.authenticationMethod} not supported`,
    };
  }
  if (policy.identityAsUsername && client.certificateIdentity !== undefined) {
    return { result: 'allow', username: client.certificateIdentity };
  }
  if (client.username === undefined) {
    return policy.allowAnonymous
      ? { result: 'allow' }
      : {
          result: 'deny',
          reasonCode: ReasonCode.NotAuthorized,
          logReason: 'anonymous clients are not allowed on this listener',
        };
  }
  // A username that no hook accepted. Without a password file there is nothing to check it
  // against: the client is let in as anonymous, its username unverified, so ACL `user`
  // blocks and %u do not apply to it (Mosquitto would grant that user's rights).
  if (!policy.hasPasswordFile && policy.allowAnonymous) {
    return { result: 'allow', anonymous: true };
  }
  return {
    result: 'deny',
    reasonCode: ReasonCode.BadUserNameOrPassword,
    logReason: policy.hasPasswordFile
      ? 'unknown user'
      : 'this listener has no password file and does not allow anonymous clients',
  };
}

/**
 * The last hook of the chain. For a client on a listener named in `policies`: authenticate
 * by the listener's anonymous rule; publish and subscribe allowed when the listener has no
 * ACL. Clients on unknown listeners are deferred (and so denied by the chain), but for
 * publish when no listener here has an ACL (see below).
 */
export function listenerPolicyHook(policies: ReadonlyMap<string, ListenerPolicy>): Hook {
  const noAcl = (client: ClientInfo): Verdict =>
    policies.get(client.listener)?.hasAcl === false ? 'allow' : 'defer';
  // A publish under a listener this node does not have is the will of a client that was
  // connected to another cluster node, sent here because that node died (the survivor that
  // took its traces sends its clients' wills [MQTT-3.1.2-8]): the client's ClientInfo names
  // the dead node's listener, and nodes on one host have different ports, so different
  // default names (`mqtt:<port>`). Denying it dropped the will (issue #11). This node cannot
  // apply rules it does not have: when none of its listeners has an ACL, nothing here
  // restricts publishing and the will goes out; when one has, it stays denied (logged),
  // so name the listeners the same on every node (`listeners[].name`) to have their rules
  // apply there.
  const unknownPublish: Verdict = [...policies.values()].some((policy) => policy.hasAcl)
    ? 'defer'
    : 'allow';
  return {
    name: 'listener-policy',
    authenticate(request: AuthenticateRequest): AuthenticateResult {
      const policy = policies.get(request.client.listener);
      return policy === undefined ? { result: 'defer' } : authenticateBy(policy, request);
    },
    authorizePublish: (client: ClientInfo) =>
      policies.has(client.listener) ? noAcl(client) : unknownPublish,
    authorizeSubscribe: (client: ClientInfo) => noAcl(client),
  };
}

/** True for `$SYS` and every topic under it. */
function isSysTopic(topic: string): boolean {
  return topic === '$SYS' || topic.startsWith('$SYS/');
}

/**
 * The first hook of the chain: no client may publish (or leave a will) under `$SYS`, the
 * broker's own topics, whatever later hooks would say. Install it together with
 * {@link listenerPolicyHook} or another hook that allows the rest: alone, its deferrals
 * would deny every publish.
 */
export function sysReadOnlyHook(): Hook {
  return {
    name: 'sys-read-only',
    authorizePublish(_client: ClientInfo, publish: PublishRequest): Verdict {
      return isSysTopic(publish.topic) ? 'deny' : 'defer';
    },
  };
}
