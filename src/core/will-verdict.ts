/**
 * The verdict a cluster node records with the copies of a connected client's will, for the
 * node that may send the will in its place (when this one dies, the survivor sends its
 * clients' wills [MQTT-3.1.2-8]). The survivor authorizes a will with its own hooks as for
 * any publish; but the client's listener is this node's, which the survivor may not have:
 * then every hook there defers, and this verdict decides (message-pipeline.ts).
 *
 * When: on one node a will is authorized when it is sent, not at CONNECT (as Mosquitto does:
 * its ACL check is in context__send_will), and that stays so. A node that is gone cannot
 * decide at that time, so the verdict is taken when the client connects (CONNACK 0x00 sent),
 * with this node's hooks, as that client, under its real listener, on the will as it would
 * be published. It does not follow later changes of this node's rules (an ACL reload), and a
 * node that has a listener of the client's name applies its own rules instead.
 */
import type { Will } from '../protocol/index.js';
import type { ClientInfo } from './client-info.js';
import type { HookChain } from './hook-chain.js';
import type { PublishRequest } from './hooks.js';
import { isSysTopic } from './sys-topic.js';

/**
 * Whether a client's will may be published, as the node the client was connected to decided
 * (its hooks, as that client, under its listener).
 */
export type WillVerdict = 'allow' | 'deny';

/** `value` as a {@link WillVerdict}, or undefined when it is none (missing, garbage). */
export function asWillVerdict(value: unknown): WillVerdict | undefined {
  return value === 'allow' || value === 'deny' ? value : undefined;
}

/**
 * What this node's hooks say of `client` publishing `will` now, as {@link
 * MessagePipeline.fromWill} would ask them: `$SYS` is never allowed; the chain decides the
 * rest (allowed when no hook authorizes publishes; all-defer denies). Synchronous while the
 * hooks are; a hook that fails denies.
 */
export function decideWill(
  hooks: HookChain,
  client: ClientInfo,
  will: Will,
): WillVerdict | Promise<WillVerdict> {
  if (isSysTopic(will.topic)) return 'deny';
  if (!hooks.hasAuthorizePublish) return 'allow';
  const { willDelayInterval: _delay, ...properties } = will.properties ?? {};
  const request: PublishRequest = {
    topic: will.topic,
    payload: will.payload,
    qos: will.qos,
    retain: will.retain,
    properties,
  };
  let allowed: boolean | Promise<boolean>;
  try {
    allowed = hooks.authorizePublish(client, request);
  } catch {
    return 'deny';
  }
  if (typeof allowed === 'boolean') return allowed ? 'allow' : 'deny';
  return Promise.resolve(allowed).then(
    (settled) => (settled ? 'allow' : 'deny'),
    () => 'deny',
  );
}
