/**
 * The broker's bridges: started after the store is restored (their sessions are in it),
 * stopped before the core closes, read on demand, and the one hook that counts the drops of
 * their sessions.
 */
import type { BrokerCore } from '../core/index.js';
import { Bridge, type BridgeStatus } from './bridge.js';
import type { BridgeOptions } from './bridge-options.js';
import { bridgeSessionId } from './bridge-options.js';

/** Logged drops: the first, then every this many (a remote down for long drops a lot). */
const DROP_LOG_EVERY = 1000;

/** Every bridge of one broker. */
export class BridgeSet {
  private readonly bySession = new Map<string, Bridge>();

  constructor(
    private readonly core: BrokerCore,
    options: readonly BridgeOptions[],
  ) {
    for (const o of options) {
      const id = bridgeSessionId(o.name);
      if (this.bySession.has(id)) throw new Error(`bridge name '${o.name}' is used twice`);
      this.bySession.set(id, new Bridge(core, o));
    }
    if (this.bySession.size > 0) this.countDrops();
  }

  /** Starts every bridge (each then connects on its own, retrying). */
  async start(): Promise<void> {
    await Promise.all([...this.bySession.values()].map((b) => b.start()));
  }

  /** Ends every remote connection. */
  async stop(): Promise<void> {
    await Promise.all([...this.bySession.values()].map((b) => b.stop()));
  }

  /** State and counters of every bridge. */
  statuses(): BridgeStatus[] {
    return [...this.bySession.values()].map((b) => b.status());
  }

  private countDrops(): void {
    this.core.addHook({
      name: 'bridges',
      onDropped: (clientId, message, reason) => {
        const bridge = this.bySession.get(clientId);
        if (bridge === undefined) return;
        const drops = ++bridge.counters.drops;
        if (drops === 1 || drops % DROP_LOG_EVERY === 0) {
          this.core.logger.warn(
            { bridge: bridge.name, reason, topic: message.topic, drops },
            'bridge: message for the remote dropped',
          );
        }
      },
    });
  }
}
