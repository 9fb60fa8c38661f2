/**
 * Memory measurement around resource-exhaustion cases: a forced GC (when it can be turned
 * on) and the growth of rss and heapUsed from a baseline. Not a test file.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (() => void) | undefined;

/** Heap and resident set now, after a GC when possible. */
export function memoryNow(): { rss: number; heapUsed: number } {
  gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

/** Growth since `before` in MiB, for assertion messages and bounds. */
export function growthMiB(before: { rss: number; heapUsed: number }): {
  rss: number;
  heapUsed: number;
} {
  const now = memoryNow();
  return {
    rss: (now.rss - before.rss) / 2 ** 20,
    heapUsed: (now.heapUsed - before.heapUsed) / 2 ** 20,
  };
}
