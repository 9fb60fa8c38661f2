/**
 * The `pipit bench` load generator as a library: `runBench(options)` runs one scenario
 * against any MQTT broker and resolves with its figures.
 */
import { runConnScenario } from './conn-scenario.js';
import { runMessageScenario } from './message-scenario.js';
import { resolveOptions } from './options.js';
import type { BenchOptions, BenchResult } from './types.js';

export { LatencyHistogram, type LatencySummary } from './histogram.js';
export { DEFAULT_COUNT, resolveOptions, SCENARIOS } from './options.js';
export { formatResult } from './report.js';
export { TRANSPORTS, type Transport } from './transport.js';
export type * from './types.js';
export { BenchInterruptedError } from './types.js';

/** Runs one benchmark scenario against the broker at `options.host`:`options.port`. */
export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const o = resolveOptions(options);
  return o.scenario === 'conn' ? runConnScenario(o) : runMessageScenario(o);
}
