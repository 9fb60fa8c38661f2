/**
 * The memory budget's decisions about sessions and subscriptions: admit (and charge) or
 * refuse (counted in `metrics.refused` and logged, throttled), and the releases that match;
 * and the refusals of queued and retained messages. The wire answers are the callers':
 * CONNACK 0x97 (v3 0x03), SUBACK 0x97 (v3 0x80).
 */
import type { RefusalLog } from './limits.js';
import { MemoryBudget } from './memory-budget.js';
import type { Message } from './message.js';

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
      this.refuse('budget-session', { clientId, durable }, 'session refused: memoryBudget reached');
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
        { clientId, durable, filterStart: filter.slice(0, 64) },
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

  /** Counts and logs (throttled) a message not queued for the budget. */
  refuseQueued(clientId: string): void {
    this.refusals.note(
      'budget-queued',
      this.queuedFields,
      'message not queued: memoryBudget reached',
      clientId,
    );
  }

  /** Counts and logs (throttled) a message not queued for `maxQueuedMessagesTotal`. */
  refuseQueuedTotal(clientId: string): void {
    this.refusals.note(
      'queued-total',
      this.queuedTotalFields,
      'message not queued: maxQueuedMessagesTotal reached',
      clientId,
    );
  }

  /** Counts and logs (throttled) a retained message not kept for the budget. */
  refuseRetained(message: Message): void {
    this.refusals.note(
      'budget-retained',
      this.retainedFields,
      'retained message not kept: memoryBudget reached',
      message,
    );
  }

  // The log fields of the refusals that may come once per message: built only when a line
  // is logged, by functions made once here, so a flood of refusals allocates nothing.
  private readonly queuedFields = (clientId: string): Record<string, unknown> => ({
    clientId,
    ...this.state(),
  });
  private readonly queuedTotalFields = (clientId: string): Record<string, unknown> => ({
    clientId,
    maxQueuedMessagesTotal: this.budget.maxQueuedMessages,
    queuedMessages: this.budget.usage.queuedMessages,
  });
  private readonly retainedFields = (message: Message): Record<string, unknown> => ({
    clientId: message.origin,
    topicBytes: Buffer.byteLength(message.topic),
    ...this.state(),
  });

  /** The budget's limit and usage, for a log line. */
  private state(): Record<string, unknown> {
    const usage = this.budget.usage;
    return { memoryBudget: usage.limitBytes, usage: { ...usage } };
  }

  private refuse(
    kind: 'budget-session' | 'budget-subscription',
    fields: Record<string, unknown>,
    message: string,
  ): void {
    this.refusals.note(kind, () => ({ ...fields, ...this.state() }), message);
  }
}
