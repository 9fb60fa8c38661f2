/**
 * A bound on what a node's stop waits for from Redis (issue #11).
 *
 * A node's connections on a Redis Cluster keep ioredis's offline queue: a command sent while
 * the Cluster reconnects waits there for it to be ready again, with no limit. When Redis
 * never comes back, the leave's commands (lease, address, summary) wait for good, and so does
 * the inbox reader's XREAD after `disconnect()`: ioredis 6's `Cluster.disconnect()` while it
 * reconnects has no node left to close, so its pool never drains, no "close" is emitted and
 * the offline queue is never flushed (cluster/index.js `disconnect`, `handleCloseEvent`).
 * `close()` of the broker then never returned. Stopping waits for each such step at most
 * {@link STOP_WAIT_MS} and goes on without it, naming it in a warning.
 */
import type { Logger } from '../ports/index.js';

/**
 * How long stopping waits for one step (ms): a Redis that answers does in milliseconds; one
 * that did not by then is taken as gone (the peers count this node out once its lease ends).
 */
export const STOP_WAIT_MS = 5000;

/**
 * Runs `step` and waits for it at most `ms`. When it has not settled by then, logs
 * `cluster: stopping did not finish: <what>` and resolves; the step is left to settle (or
 * not) on its own, its late rejection ignored. A rejection in time is passed on.
 */
export async function stopWithin(
  logger: Logger,
  what: string,
  step: () => Promise<unknown> | undefined,
  ms = STOP_WAIT_MS,
): Promise<void> {
  const work = step();
  if (work === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(resolve, ms, 'late');
  });
  try {
    const first = await Promise.race([work.then(() => 'done' as const), late]);
    if (first === 'late') {
      work.catch(() => {}); // it may still fail once the connection is dropped
      logger.warn({ step: what, waitedMs: ms }, `cluster: stopping did not finish: ${what}`);
    }
  } finally {
    clearTimeout(timer);
  }
}
