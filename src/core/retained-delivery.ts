/**
 * Retained messages for a new subscription, and Mosquitto's `check_retain_source`: a
 * retained message is served only while its publisher would still be allowed to publish
 * it. Rights change (an ACL line removed, a user moved to another block) and a retained
 * message outlives the publish that was checked; without this check it would keep speaking
 * with a right its publisher no longer has, to every future subscriber.
 *
 * With `checkRetainSource` (default true) and some authorizePublish hook installed, each
 * matching retained message that has a publisher (a client; the host application's have
 * none) is put to the authorizePublish hooks again, as from that publisher (its client id,
 * listener and verified username, kept in the store too). A refused one is not sent to this
 * subscriber, counted in `dropped['retained-source']` and `refused['retained-source']` and
 * logged (throttled); it stays retained, and is served again if the right comes back.
 * Messages the broker has not checked before (stored by an older Pipit) are served as they
 * were. A connection is never closed for this.
 */
import type { Clock, Logger } from '../ports/index.js';
import type { HookChain } from './hook-chain.js';
import type { RefusalLog } from './limits.js';
import type { Message } from './message.js';
import type { DropReason } from './metrics.js';
import type { CoreOptions } from './options.js';
import type { RetainedMessages } from './retained.js';
import type { Session } from './session.js';
import type { Subscription } from './subscription.js';

/**
 * What serving retained messages needs of the broker (BrokerCore is one): named here rather
 * than imported from broker-core.ts, which imports this file.
 */
export interface RetainedServer {
  readonly retained: Pick<RetainedMessages, 'match'>;
  readonly clock: Clock;
  readonly options: Pick<CoreOptions, 'checkRetainSource' | 'maxRetainedMessages'>;
  readonly hooks: HookChain;
  readonly logger: Logger;
  readonly refusals: RefusalLog;
  /** Counts (and notifies) a message not delivered to one client. */
  recordDrop(clientId: string, message: Message, reason: DropReason): void;
}

/**
 * Retained messages for a new subscription, per Retain Handling [MQTT-3.3.1-9]
 * [MQTT-3.3.1-10] [MQTT-3.3.1-11], with the RETAIN flag set [MQTT-3.3.1-8]; never for
 * shared subscriptions (MQTT 5 section 4.8.2). Sent at once when the hooks answer
 * synchronously (the built-in ones do); after them otherwise.
 */
export function sendRetained(
  core: RetainedServer,
  session: Session,
  subscription: Subscription,
  isNew: boolean,
): void {
  if (subscription.shareGroup !== undefined) return;
  if (subscription.retainHandling === 2 || (subscription.retainHandling === 1 && !isNew)) return;
  const found = core.retained.match(subscription.filter, core.clock.now());
  if (found.length === 0) return;
  const servable = servableRetained(core, session.clientId, found);
  if (Array.isArray(servable)) {
    deliverRetained(core, session, subscription, servable);
    return;
  }
  servable.then(
    (messages) => deliverRetained(core, session, subscription, messages),
    (err: unknown) =>
      core.logger.error(
        { err, clientId: session.clientId, filter: subscription.filter },
        'checking the publishers of retained messages failed: not sent',
      ),
  );
}

/**
 * Hands the servable messages to the session, which sends them as the client reads
 * (session.sendRetained). What waits is bounded per session by maxRetainedMessages: one
 * subscription to '#' always fits, but repeated SUBSCRIBEs from a client that does not
 * acknowledge cannot pile up copies of the list.
 */
function deliverRetained(
  core: RetainedServer,
  session: Session,
  subscription: Subscription,
  messages: Message[],
): void {
  const room = core.options.maxRetainedMessages - session.retainedBacklog;
  if (messages.length > room) {
    const refused = messages.splice(Math.max(0, room));
    for (const message of refused) core.recordDrop(session.clientId, message, 'retained-backlog');
    core.refusals.note(
      'retained-backlog',
      { clientId: session.clientId, filter: subscription.filter, notSent: refused.length },
      'retained messages not sent: the session has maxRetainedMessages waiting already',
    );
  }
  const ids = subscription.subscriptionId === undefined ? undefined : [subscription.subscriptionId];
  session.sendRetained(messages, subscription.qos, ids);
}

/** The messages whose publisher may still publish them (all of them when the check is off). */
function servableRetained(
  core: RetainedServer,
  subscriberId: string,
  messages: Message[],
): Message[] | Promise<Message[]> {
  const hooks = core.hooks;
  if (!core.options.checkRetainSource || !hooks.hasAuthorizePublish) return messages;
  let async = false;
  const verdicts = messages.map((message) => {
    if (message.publisher === undefined) return true;
    // The message is its own PublishRequest (topic, payload, qos, retain, properties).
    const verdict = hooks.authorizePublish(message.publisher, message);
    if (typeof verdict !== 'boolean') async = true;
    return verdict;
  });
  if (!async) return keepAllowed(core, subscriberId, messages, verdicts as boolean[]);
  return Promise.all(verdicts).then((settled) =>
    keepAllowed(core, subscriberId, messages, settled),
  );
}

function keepAllowed(
  core: RetainedServer,
  subscriberId: string,
  messages: Message[],
  allowed: boolean[],
): Message[] {
  if (!allowed.includes(false)) return messages;
  const kept: Message[] = [];
  messages.forEach((message, i) => {
    if (allowed[i]) {
      kept.push(message);
      return;
    }
    core.recordDrop(subscriberId, message, 'retained-source');
    core.refusals.note(
      'retained-source',
      { clientId: subscriberId, topic: message.topic, publisher: message.origin },
      'retained message not sent: its publisher may no longer publish it (checkRetainSource)',
    );
  });
  return kept;
}
