/**
 * One mqtt-load run as a child process (bench/harness/c-load-connect.ts and
 * c-load-fanin.ts): its JSON events line by line, its exit code, the tail of its stderr.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import type { BenchOptions } from '../../src/bench/index.js';

/** A running mqtt-load. */
export interface CLoadProcess {
  child: ChildProcess;
  /** Its stdout, one JSON event per line. */
  lines: Interface;
  /** Resolves with the exit code once it closed. */
  exited: Promise<number | null>;
  /** The end of what it wrote on stderr, or "no output". */
  stderr(): string;
}

/**
 * Starts mqtt-load with `args`; `stdin` 'pipe' when the run waits for lines or the end of its
 * stdin (connect mode holds its connections until then).
 * @throws Error for a transport other than plain TCP (the tool speaks nothing else).
 */
export function startCLoad(
  binary: string,
  args: string[],
  stdin: 'pipe' | 'ignore',
  o: BenchOptions,
): CLoadProcess {
  if ((o.transport ?? 'tcp') !== 'tcp') throw new Error('mqtt-load speaks plain TCP only');
  const child = spawn(binary, args, { stdio: [stdin, 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-2000);
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  return {
    child,
    lines: createInterface({ input: child.stdout! }),
    exited,
    stderr: () => stderr.trim() || 'no output',
  };
}
