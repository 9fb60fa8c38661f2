/**
 * Who publishes where and who subscribes to what, for each message scenario.
 */
import type { Scenario } from './types.js';

/** The connections a scenario opens. */
export interface Topology {
  /** One topic per publisher. */
  publisherTopics: string[];
  /** One filter per subscriber. */
  subscriberFilters: string[];
  /** How many subscribers receive each message. */
  fanFactor: number;
  /** Per subscriber: the publisher indices whose messages it must receive. */
  sources: number[][];
}

/** Builds the topology of a message scenario; `prefix` keeps concurrent runs apart. */
export function buildTopology(
  scenario: Exclude<Scenario, 'conn'>,
  count: number,
  prefix: string,
): Topology {
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  switch (scenario) {
    case 'fanin':
      return {
        publisherTopics: range(count).map((i) => `${prefix}/in/${i}`),
        subscriberFilters: [`${prefix}/in/+`],
        fanFactor: 1,
        sources: [range(count)],
      };
    case 'fanout':
      return {
        publisherTopics: [`${prefix}/out`],
        subscriberFilters: range(count).map(() => `${prefix}/out`),
        fanFactor: count,
        sources: range(count).map(() => [0]),
      };
    case 'pairs':
      return {
        publisherTopics: range(count).map((i) => `${prefix}/pair/${i}`),
        subscriberFilters: range(count).map((i) => `${prefix}/pair/${i}`),
        fanFactor: 1,
        sources: range(count).map((i) => [i]),
      };
  }
}

/** Runs `fn` over `items` with at most `limit` calls in progress; results keep their order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves after `ms` milliseconds, or as soon as `signal` aborts (Ctrl-C). */
export function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return sleep(ms);
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
