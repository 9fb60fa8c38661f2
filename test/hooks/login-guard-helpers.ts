/**
 * What the login guard's unit tests share: a clock the test moves, promises the test
 * settles, and a way to let queued work run. Not a test file.
 */

/** A clock the test moves by hand. */
export function manualClock() {
  const clock = { t: 1_000_000, now: () => clock.t };
  return clock;
}

/** A promise and the functions that settle it. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export const tick = () => new Promise((r) => setImmediate(r));
