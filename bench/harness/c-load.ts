/**
 * mqtt-load, the benchmark's load generator in C (bench/tools/mqtt-load): compiled on demand
 * with gcc into the git-ignored bench/.out/, and run for the scenarios that name a `cLoad`
 * plan, so that the generator is not the limit of what they measure (issue #17). Without gcc
 * the harness says so and those scenarios run on Pipit's Node engine (`runBench`) instead.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { which } from './brokers.js';
import type { FaninPlan } from './c-load-fanin.js';

/** Where the tool's C sources are, relative to the repository. */
export const C_LOAD_SOURCES = join('bench', 'tools', 'mqtt-load');
/** Where the compiled tool goes (bench/.out/ is git-ignored). */
export const C_LOAD_BINARY = join('bench', '.out', 'mqtt-load');

/** The names a run reports its generator by. */
export const C_GENERATOR = 'mqtt-load (C)';
export const NODE_GENERATOR = 'pipit bench (Node)';

/** How a scenario runs on mqtt-load. */
export type CLoadPlan =
  | {
      mode: 'connect';
      /** CONNECTs awaiting their CONNACK at most (issue #17: 50). */
      inFlight: number;
    }
  | ({
      mode: 'fanin';
    } & FaninPlan);

/** The tool when it could be built, else why not. */
export type CLoadTool = { binary: string } | { missing: string };

/** Newest modification time among the tool's sources, in ms. */
function newestSource(dir: string): number {
  return Math.max(
    ...readdirSync(dir)
      .filter((f) => f.endsWith('.c') || f.endsWith('.h'))
      .map((f) => statSync(join(dir, f)).mtimeMs),
  );
}

/**
 * Compiles mqtt-load when its binary is missing or older than a source. Resolves to the
 * binary, or to `missing` (naming the problem) when there is no C compiler; a compile error
 * throws, with the compiler's message.
 */
export function prepareCLoad(root: string): CLoadTool {
  const sources = join(root, C_LOAD_SOURCES);
  const binary = join(root, C_LOAD_BINARY);
  if (existsSync(binary) && statSync(binary).mtimeMs >= newestSource(sources)) return { binary };
  const cc = which('gcc') ?? which('cc');
  if (!cc) {
    return {
      missing: `no C compiler (gcc) to build ${C_LOAD_SOURCES} (apt-get install gcc)`,
    };
  }
  mkdirSync(join(root, 'bench', '.out'), { recursive: true });
  const files = readdirSync(sources)
    .filter((f) => f.endsWith('.c'))
    .map((f) => join(sources, f));
  // Built beside it and renamed into place: two test files building at once never see a
  // half-written binary.
  const tmp = `${binary}.${process.pid}.tmp`;
  try {
    execFileSync(cc, ['-O2', '-Wall', '-Wextra', '-std=gnu11', '-o', tmp, ...files], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    renameSync(tmp, binary);
  } catch (err) {
    rmSync(tmp, { force: true });
    const stderr = String((err as { stderr?: Buffer }).stderr ?? (err as Error).message);
    throw new Error(`${cc} could not build ${C_LOAD_SOURCES}:\n${stderr}`);
  }
  return { binary };
}
