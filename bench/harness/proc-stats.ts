/**
 * Reads a process's memory and CPU time from /proc (Linux).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Resident set size now and its peak (VmRSS, VmHWM), in KiB. */
export interface MemoryStatus {
  rssKiB: number;
  peakKiB: number;
}

/** Reads VmRSS and VmHWM from /proc/<pid>/status. */
export function readMemory(pid: number): MemoryStatus {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  return { rssKiB: field('VmRSS'), peakKiB: field('VmHWM') };
}

let ticksPerSecond: number | undefined;

/** Clock ticks per second (CLK_TCK), 100 when getconf is missing. */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    } catch {
      ticksPerSecond = 100;
    }
    if (!(ticksPerSecond > 0)) ticksPerSecond = 100;
  }
  return ticksPerSecond;
}

/** User + system CPU time of all the process's threads so far, in milliseconds. */
export function readCpuMs(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its ')' are fixed.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / clockTicks();
}

/**
 * Time the process's main thread has spent runnable but waiting for a CPU so far (the
 * scheduler's run-queue delay, `/proc/<pid>/schedstat` field 2), in milliseconds; 0 where
 * the kernel keeps no schedstat. On a machine busier than its cores, a message waits here.
 */
export function readRunQueueWaitMs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return 0;
  }
}
