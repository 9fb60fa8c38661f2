/**
 * A session's subscriptions kept in step with the router (which matches them), the memory
 * budget (which charges them) and the store (for a persistent session).
 */
import type { BudgetAdmission } from './budget-admission.js';
import type { Router } from './router.js';
import type { SessionRecord } from './session-record.js';
import type { Subscription } from './subscription.js';

/** Adds and removes the subscriptions of sessions. */
export class SubscriptionService {
  constructor(
    private readonly router: Router,
    private readonly budget: BudgetAdmission,
  ) {}

  /**
   * Adds or replaces a subscription [MQTT-3.8.4-3]; true when it is new. A new one must have
   * been admitted by `budget.admitSubscription` (which charged it).
   */
  add(session: SessionRecord, subscription: Subscription): boolean {
    const existed = session.subscriptions.has(subscription.filter);
    session.subscriptions.set(subscription.filter, subscription);
    this.router.add(subscription);
    session.persistence?.putSubscription(session.clientId, subscription);
    return !existed;
  }

  /** Removes a subscription; true when it existed. */
  remove(session: SessionRecord, filter: string): boolean {
    const subscription = session.subscriptions.get(filter);
    if (subscription === undefined) return false;
    session.subscriptions.delete(filter);
    this.router.remove(subscription.subscriber, filter);
    this.budget.releaseSubscription(filter);
    session.persistence?.deleteSubscription(session.clientId, filter);
    return true;
  }

  /** The session ended: every subscription leaves the router and the budget. */
  removeAll(session: SessionRecord): void {
    if (session.subscriptionCount === 0) return;
    for (const subscription of session.subscriptions.values()) {
      this.router.remove(subscription.subscriber, subscription.filter);
      this.budget.releaseSubscription(subscription.filter);
    }
    session.subscriptions.clear();
  }

  /** A session restored from the store: its subscriptions enter the router, charged. */
  restore(session: SessionRecord): void {
    if (session.subscriptionCount === 0) return;
    for (const subscription of session.subscriptions.values()) {
      this.router.add(subscription);
      this.budget.chargeSubscription(subscription.filter);
    }
  }
}
