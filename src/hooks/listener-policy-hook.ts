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
 * ACL. Clients on unknown listeners are deferred, and so denied by the chain, whatever the
 * ACL configuration: this node does not know their listener's rules.
 *
 * The one publish under an unknown listener that comes here is the will of a client of
 * another cluster node that died, sent by the survivor [MQTT-3.1.2-8] (its ClientInfo names
 * the dead node's listener, e.g. `mqtt:<its port>`). It is not allowed here: when every hook
 * defers, the core follows the verdict the client's own node recorded with the will's copy
 * (core will-verdict.ts, issue #11).
 */
export function listenerPolicyHook(policies: ReadonlyMap<string, ListenerPolicy>): Hook {
  const noAcl = (client: ClientInfo): Verdict =>
    policies.get(client.listener)?.hasAcl === false ? 'allow' : 'defer';
  return {
    name: 'listener-policy',
    authenticate(request: AuthenticateRequest): AuthenticateResult {
      const policy = policies.get(request.client.listener);
      return policy === undefined ? { result: 'defer' } : authenticateBy(policy, request);
    },
    authorizePublish: (client: ClientInfo) => noAcl(client),
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
