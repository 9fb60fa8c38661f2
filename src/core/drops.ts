/**
 * Every message the broker declines to deliver to one client is counted here, by reason,
 * and told to the `onDropped` hooks.
 */
import type { HookChain } from './hook-chain.js';
import type { Message } from './message.js';
import type { CoreMetrics, DropReason } from './metrics.js';

/** Counts (and notifies) drops. */
export class DropCounter {
  constructor(
    private readonly metrics: CoreMetrics,
    private readonly hooks: HookChain,
  ) {}

  /** Counts a message not delivered to `clientId`, and notifies the hooks that listen. */
  record(clientId: string, message: Message, reason: DropReason): void {
    this.metrics.dropped[reason]++;
    if (this.hooks.hasDroppedNotification)
      this.hooks.notify('onDropped', clientId, message, reason);
  }
}
