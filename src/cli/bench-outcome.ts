/**
 * What `pipit bench` hands from its flags to its run, and how a run's outcome becomes an exit
 * code: shared by bench-command.ts (loaded at every start) and bench-run.ts (loaded when the
 * command runs), so that neither imports the other.
 */
import type { BenchResult } from '../bench/types.js';

/** `bench`'s flags as commander hands them over. */
export interface BenchFlags {
  host: string;
  port: string;
  qos: string;
  size: string;
  count?: string;
  duration: string;
  warmup: string;
  window: string;
  rate?: string;
  protocolVersion: string;
  username?: string;
  password?: string;
  json?: boolean;
  progress: boolean;
  transport: string;
  wsPath: string;
  cafile?: string;
  insecure?: boolean;
  batch: string;
  pace: string;
}

/** Exit code for a completed run whose message checks failed. */
export const EXIT_INTEGRITY = 3;
/** Exit code after Ctrl-C (128 + SIGINT, as shells report it). */
export const EXIT_INTERRUPTED = 130;

/** True when the counts show a broker fault for this QoS (QoS 1 may duplicate, QoS 0 may drop). */
export function integrityFailed(r: BenchResult): boolean {
  if (r.outOfOrder > 0) return true;
  if (r.qos > 0 && r.lost > 0) return true;
  return r.qos !== 1 && r.duplicated > 0;
}
