/**
 * What makes publishers send: either as fast as their windows allow (each delivery or
 * acknowledgement schedules another pass), or at a fixed total rate on a 1 ms tick.
 */
import type { RunContext } from './context.js';
import type { BenchPublisher } from './publisher.js';
import type { Pace } from './types.js';

/** Starts sending as fast as the windows allow; stops when `ctx.running` turns false. */
export function startWindowDriver(ctx: RunContext, pubs: readonly BenchPublisher[]): void {
  ctx.setPump(() => {
    if (!ctx.running) return;
    for (const p of pubs) p.pump();
  });
  ctx.schedulePump();
}

/**
 * Starts sending at `rate` msg/s in total, split evenly over the publishers. A publisher
 * held back by its window skips the messages it missed rather than bursting later, so
 * the send rate falls short visibly instead of distorting latency. `timer` pace checks
 * what is due every ~1 ms; `spin` on every event-loop turn, with publisher i's schedule
 * shifted by i/n of a period, so that the publishers' messages interleave evenly instead
 * of leaving together.
 */
export function startRateDriver(
  ctx: RunContext,
  pubs: readonly BenchPublisher[],
  rate: number,
  pace: Pace = 'timer',
): void {
  ctx.setPump(() => {});
  const perPublisherPerMs = rate / pubs.length / 1000;
  const start = performance.now();
  const credited = new Array<number>(pubs.length).fill(0);
  const stagger = pubs.map((_, i) => (pace === 'spin' ? i / pubs.length : 0));
  const tick = (): void => {
    if (!ctx.running) return;
    const elapsed = performance.now() - start;
    for (let i = 0; i < pubs.length; i++) {
      const target = Math.floor(elapsed * perPublisherPerMs + stagger[i]);
      const due = target - credited[i];
      if (due > 0) pubs[i].pump(due);
      credited[i] = target;
    }
    // setImmediate runs after the poll phase, so replies and deliveries are still read
    // (and timestamped) between two checks; the loop just never sleeps.
    if (pace === 'spin') setImmediate(tick);
    else setTimeout(tick, 1);
  };
  tick();
}
