/**
 * The memory budget's decisions about sessions and subscriptions: admit (and charge) or
 * refuse (counted in `metrics.refused` and logged, throttled), and the releases that match.
 * The wire answers are the callers': CONNACK 0x97 (v3 0x03), SUBACK 0x97 (v3 0x80).
 */
import type { RefusalLog } from './limits.js';
import { MemoryBudget } from './memory-budget.js';

/** Admission of sessions and subscriptions against the memory budget. */
export class BudgetAdmission {
  constructor(
    readonly budget: MemoryBudget,
    private readonly refusals: RefusalLog,
  ) {}

  /**
   * Charges a new session, or refuses it (false, counted and logged) when the budget has no
   * room: `durable` (a session that outlives its connection) up to the budget's durable share.
   */
  admitSession(clientId: string, durable: boolean): boolean {
    const cost = MemoryBudget.sessionCost(clientId);
    if (!this.budget.fits(cost, durable)) {
      this.refuse(
        'budget-session',
        () => ({ clientId, durable }),
        'session refused: memoryBudget reached',
      );
      return false;
    }
    this.budget.charge('session', cost);
    return true;
  }

  /** Charges a session restored from the store (no refusal: the caller checked `fits`). */
  chargeSession(clientId: string): void {
    this.budget.charge('session', MemoryBudget.sessionCost(clientId));
  }

  /** A session ended. */
  releaseSession(clientId: string): void {
    this.budget.charge('session', -MemoryBudget.sessionCost(clientId));
  }

  /** Charges a new subscription, or refuses it (false, counted and logged). */
  admitSubscription(clientId: string, filter: string, durable: boolean): boolean {
    const cost = MemoryBudget.subscriptionCost(filter);
    if (!this.budget.fits(cost, durable)) {
      this.refuse(
        'budget-subscription',
        () => ({ clientId, durable, filterStart: filter.slice(0, 64) }),
        'subscription refused: memoryBudget reached',
      );
      return false;
    }
    this.budget.charge('subscription', cost);
    return true;
  }

  /** Charges a subscription restored from the store. */
  chargeSubscription(filter: string): void {
    this.budget.charge('subscription', MemoryBudget.subscriptionCost(filter));
  }

  /** A subscription was removed. */
  releaseSubscription(filter: string): void {
    this.budget.charge('subscription', -MemoryBudget.subscriptionCost(filter));
  }

  /**
   * Counts and logs (throttled) a refusal of `kind` with the budget's state; `fields` is
   * called only when the line is logged, so a flood of refusals allocates nothing.
   */
  refuse(
    kind: 'budget-session' | 'budget-subscription' | 'budget-queued' | 'budget-retained',
    fields: () => Record<string, unknown>,
    message: string,
  ): void {
    const usage = this.budget.usage;
    this.refusals.note(
      kind,
      () => ({ ...fields(), memoryBudget: usage.limitBytes, usage: { ...usage } }),
      message,
    );
  }
}
