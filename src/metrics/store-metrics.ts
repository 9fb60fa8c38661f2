/**
 * Histograms of the store's group commits: fed once per committed batch through the store's
 * CommitObserver (never per message), so the publish path pays nothing for them.
 */
import { Histogram, type Registry } from 'prom-client';
import type { CommitObserver } from '../ports/index.js';

/** From 100 µs (an fsync on a fast SSD) to 2.5 s (a disk in trouble). */
const SECONDS_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

/** Writes per batch: one client's message to a busy broker's thousands. */
const WRITES_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

/** Registers the store histograms on `registry`; the observer feeds them. */
export function registerStoreMetrics(registry: Registry): CommitObserver {
  const registers = [registry];
  const batch = new Histogram({
    name: 'pipit_store_commit_seconds',
    help: 'Store commit latency: from a batch of writes opening until it is committed (what an acknowledgement waits for the store).',
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const commit = new Histogram({
    name: 'pipit_store_fsync_seconds',
    help: 'Duration of each COMMIT: writing the batch to the write-ahead log and syncing it to disk (durability fsync and batched).',
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const writes = new Histogram({
    name: 'pipit_store_batch_writes',
    help: 'Writes per committed batch (group commit).',
    buckets: WRITES_BUCKETS,
    registers,
  });
  return {
    committed(batchSeconds, commitSeconds, count) {
      batch.observe(batchSeconds);
      commit.observe(commitSeconds);
      writes.observe(count);
    },
  };
}
