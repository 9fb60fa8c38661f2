/**
 * The memory budget's default, sized to the machine: half of what this process may hold in
 * its V8 heap (the heap limit Node chose from the machine's memory or `--max-old-space-size`),
 * or of the cgroup memory limit when that is lower. Half, because the budget counts the live
 * state clients make the broker hold, and the heap also needs room for what is in flight
 * (packets, encodings) and for the garbage collector to work; see docs/configuration.md.
 * Here rather than in the core, which has no access to the process.
 */
import { getHeapStatistics } from 'node:v8';

/** Share of the heap (or memory) limit the budget defaults to. */
export const BUDGET_SHARE_OF_HEAP = 0.5;

/** The default memory budget in bytes, and what it was computed from. */
export function defaultMemoryBudget(): { bytes: number; heapLimit: number; memoryLimit: number } {
  const heapLimit = getHeapStatistics().heap_size_limit;
  // Node 20 answers the cgroup limit (undefined or 0 when there is none, or a huge number).
  const constrained = process.constrainedMemory?.() ?? 0;
  const memoryLimit = constrained > 0 ? constrained : Number.POSITIVE_INFINITY;
  const bytes = Math.floor(Math.min(heapLimit, memoryLimit) * BUDGET_SHARE_OF_HEAP);
  return { bytes, heapLimit, memoryLimit };
}
