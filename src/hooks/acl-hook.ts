/**
 * Authorization with an ACL file (Mosquitto's `acl_file`; semantics in docs/security.md).
 */
import type { ClientInfo, Hook, Message, PublishRequest, Verdict } from '../core/index.js';
import type { SubscriptionRequest } from '../protocol/index.js';
import type { AclFile } from './acl-file.js';
import { type Current, fixed } from './reloadable.js';

/** Options of {@link aclFileHook}. */
export interface AclHookOptions {
  /** Listener names this hook applies to; every listener when omitted. */
  listeners?: readonly string[];
}

/**
 * A hook that enforces `file` (an {@link AclFile} or a reloadable holder of one):
 * - publish (wills included, the core authorizes them as publishes): `write`;
 * - subscribe: `subscribe` (a denied filter gets SUBACK 0x87 in v5, 0x80 in v3);
 * - every message sent to a client, retained ones on subscribe included: `read`, so a deny
 *   rule inside a granted subscription still holds back the messages it names.
 * Nothing under `$SYS` is writable. Clients on other listeners are deferred (publish,
 * subscribe) or passed through untouched (delivery).
 */
export function aclFileHook(file: AclFile | Current<AclFile>, options: AclHookOptions = {}): Hook {
  const source: Current<AclFile> = 'current' in file ? file : fixed(file);
  const listeners = options.listeners === undefined ? undefined : new Set(options.listeners);
  const applies = (client: ClientInfo): boolean =>
    listeners === undefined || listeners.has(client.listener);
  return {
    name: 'acl-file',
    authorizePublish(client: ClientInfo, publish: PublishRequest): Verdict {
      if (!applies(client)) return 'defer';
      return source.current.check('write', client, publish.topic) ? 'allow' : 'deny';
    },
    authorizeSubscribe(client: ClientInfo, subscription: SubscriptionRequest): Verdict {
      if (!applies(client)) return 'defer';
      return source.current.check('subscribe', client, subscription.filter) ? 'allow' : 'deny';
    },
    onDeliver(client: ClientInfo, message: Message): Message | null {
      if (!applies(client)) return message;
      return source.current.check('read', client, message.topic) ? message : null;
    },
  };
}
