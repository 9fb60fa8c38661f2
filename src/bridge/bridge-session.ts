/**
 * A bridge's local session: a persistent session under `$bridge/<name>` that never expires,
 * claimed like a client's, whose subscriptions are the bridge's `out` rules. The session
 * machinery then queues, bounds, counts and stores what goes to the remote, exactly as for an
 * offline client, and restores it after a restart.
 */
import type { BrokerCore, ClientInfo, Session, SessionHolder } from '../core/index.js';
import type { TopicRules } from './topic-rules.js';

/** Session Expiry Interval 0xFFFFFFFF: the session never expires. */
const NEVER = 0xffffffff;

/**
 * Claims (or resumes, after a restart) the session of `client` for `holder`: never expiring,
 * stored when the broker has a store.
 */
export async function claimBridgeSession(
  core: BrokerCore,
  client: ClientInfo,
  holder: SessionHolder,
): Promise<Session> {
  // A claim waits only for a holder elsewhere or a loader (a cluster): claim again after it.
  for (let attempt = 0; attempt < 10; attempt++) {
    let claim: ReturnType<BrokerCore['registry']['claim']>;
    try {
      claim = core.registry.claim({ client, takeOver: () => holder.takeOver() }, false, NEVER);
    } catch (err) {
      // 0x85: the stored session belongs to another localUsername; 0x97: the memory budget.
      throw new Error(`cannot claim the session ${client.clientId}: ${(err as Error).message}`);
    }
    if (!(claim instanceof Promise)) return claim.session;
    await claim;
  }
  throw new Error(`the session ${client.clientId} could not be claimed`);
}

/**
 * Makes the session's subscriptions the `out` rules' local filters: adds the missing ones
 * (No Local, so that what the bridge brought in never goes back out [MQTT-3.8.3-3]; Retain As
 * Published, so that the remote sees the retain flag as published [MQTT-3.3.1-13]) and removes
 * those of rules no longer configured. Returns the filters the memory budget refused.
 */
export function syncSubscriptions(core: BrokerCore, session: Session, rules: TopicRules): string[] {
  const wanted = new Map(rules.outgoing.map((rule) => [rule.localFilter, rule]));
  for (const filter of [...session.subscriptions.keys()]) {
    if (!wanted.has(filter)) core.subscriptions.remove(session, filter);
  }
  const refused: string[] = [];
  for (const [filter, rule] of wanted) {
    const existing = session.subscriptions.get(filter);
    if (existing === undefined && !core.budget.admitSubscription(session.clientId, filter, true)) {
      refused.push(filter);
      continue;
    }
    if (existing?.qos === rule.qos && existing.noLocal) continue;
    core.subscriptions.add(session, {
      subscriber: session,
      filter,
      qos: rule.qos,
      noLocal: true,
      retainAsPublished: true,
      retainHandling: 0,
      subscriptionId: undefined,
      shareGroup: undefined,
    });
  }
  return refused;
}
