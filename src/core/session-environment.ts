/**
 * What a session needs from the broker around it: the queue limits, the memory budget, the
 * clock, and where drops and failed store reads are reported.
 */

import type { MemoryBudget } from './memory-budget.js';
import type { Delivery } from './message.js';
import type { DropReason } from './metrics.js';
import type { SessionRecord } from './session-record.js';

/** What a session needs from the broker around it. */
export interface SessionEnvironment {
  now(): number;
  readonly maxQueuedMessages: number;
  readonly maxQueuedBytes: number;
  readonly queueQos0Offline: boolean;
  /** The broker's memory budget (queued deliveries are charged to it). */
  readonly budget: MemoryBudget;
  /** Records a drop (counter, hook notification). */
  dropped(session: SessionRecord, delivery: Delivery, reason: DropReason): void;
  /**
   * Reports a store read that failed (logged; the queue stays stored) and calls `retry` after
   * a pause: a connected session whose next page could not be read would otherwise wait for
   * a packet of its client that never comes (nothing in flight, new deliveries queued behind
   * the page), until the client connected again.
   */
  failed(session: SessionRecord, err: unknown, retry: () => void): void;
}
