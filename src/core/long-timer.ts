/**
 * Timers longer than a Node timer can hold. Node clamps any delay above 2^31-1 ms (24.8 days)
 * to 1 ms, so a session expiry or will delay of 30 days would fire at once; this wrapper
 * splits such delays into a chain of shorter timers.
 */
import type { Clock, TimerHandle } from '../ports/index.js';

/** Longest delay one underlying timer is given (2^31 - 1 ms). */
export const MAX_TIMER_MS = 0x7fffffff;

/** A chained timer: the handle of the link currently armed. */
class LongTimer {
  inner: TimerHandle | undefined;
}

/** Wraps `clock` so that `setTimeout` accepts any delay (chaining timers past MAX_TIMER_MS). */
export function withLongTimers(clock: Clock): Clock {
  return {
    now: () => clock.now(),
    setTimeout(fn, ms) {
      if (ms <= MAX_TIMER_MS) return clock.setTimeout(fn, ms);
      const deadline = clock.now() + ms;
      const timer = new LongTimer();
      const arm = (): void => {
        const remaining = deadline - clock.now();
        timer.inner =
          remaining <= MAX_TIMER_MS
            ? clock.setTimeout(fn, remaining)
            : clock.setTimeout(arm, MAX_TIMER_MS);
      };
      arm();
      return timer;
    },
    clearTimeout(handle) {
      if (handle instanceof LongTimer) {
        if (handle.inner !== undefined) clock.clearTimeout(handle.inner);
        return;
      }
      clock.clearTimeout(handle);
    },
  };
}
