/**
 * The logger of `pipit broker`, from the `log` section: JSON lines on stdout by default;
 * pino-pretty's lines when asked (`log.format: pretty`, the default when stdout is a
 * terminal); and `log.file`, JSON lines rotated by pino-roll. Pretty printing and the file
 * run as pino transports, in a worker thread, so formatting and disk writes stay off the
 * broker's event loop; plain JSON to stdout stays a direct write, as before.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, parse } from 'node:path';
import pino from 'pino';
import type { LogLevel, LogPlan } from '../config/index.js';
import type { Logger } from '../ports/index.js';

type TransportTargetOptions = pino.TransportTargetOptions;

/** What the log's shape depends on besides the plan (a test passes its own). */
export interface LogEnvironment {
  /** stdout is a terminal: pretty by default, with colours. */
  stdoutIsTty: boolean;
}

/** The format stdout gets: as configured, else pretty at a terminal and JSON otherwise. */
export function stdoutFormat(plan: LogPlan, env: LogEnvironment): 'pretty' | 'json' {
  return plan.format ?? (env.stdoutIsTty ? 'pretty' : 'json');
}

/**
 * Builds the logger the plan asks for.
 * @throws Error naming the key and the missing package when pino-pretty or pino-roll is not
 *   installed.
 */
export function createBrokerLogger(
  level: LogLevel,
  plan: LogPlan,
  env: LogEnvironment = { stdoutIsTty: process.stdout.isTTY === true },
): Logger {
  const format = stdoutFormat(plan, env);
  const options = { level, base: undefined };
  if (level === 'silent' || (plan.file === undefined && format === 'json')) {
    return pino(options) as unknown as Logger;
  }
  const targets: TransportTargetOptions[] = [];
  if (plan.stdout) targets.push(stdoutTarget(level, format, env));
  if (plan.file !== undefined) targets.push(fileTarget(level, plan.file, plan.rotate));
  const transport = pino.transport({ targets });
  // A log that fails later (a full disk) is said on stderr; it does not take the broker down.
  transport.on('error', (err: Error) => {
    process.stderr.write(`pipit broker: writing the log failed: ${err.message}\n`);
  });
  return pino(options, transport) as unknown as Logger;
}

function stdoutTarget(
  level: LogLevel,
  format: 'pretty' | 'json',
  env: LogEnvironment,
): TransportTargetOptions {
  if (format === 'json') return { target: 'pino/file', level, options: { destination: 1 } };
  requirePackage('pino-pretty', 'log.format: pretty');
  return {
    target: 'pino-pretty',
    level,
    options: {
      destination: 1,
      colorize: env.stdoutIsTty,
      translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
      ignore: 'pid,hostname',
    },
  };
}

/**
 * pino-roll numbers the files it writes: `log.file: logs/pipit.log` becomes `logs/pipit.1.log`,
 * `logs/pipit.2.log`, ... (a run continues after the highest number), and `logs/current.log`
 * links to the one in use. `keep` counts the files of this run: earlier runs' stay.
 */
function fileTarget(
  level: LogLevel,
  file: string,
  rotate: LogPlan['rotate'],
): TransportTargetOptions {
  requirePackage('pino-roll', 'log.file');
  prepareDirectory(file);
  const { dir, name, ext } = parse(file);
  return {
    target: 'pino-roll',
    level,
    options: {
      file: join(dir, name),
      extension: ext === '' ? '.log' : ext,
      symlink: true,
      // pino-roll counts in KiB ('k'); a size that is not whole KiB is rounded up.
      ...(rotate.sizeBytes > 0 ? { size: `${Math.ceil(rotate.sizeBytes / 1024)}k` } : {}),
      ...(rotate.frequency === 'never' ? {} : { frequency: rotate.frequency }),
      // The files this run wrote: pino-roll's count of other runs' files races with its
      // opening of the new file (one file more or less), this one is exact.
      limit: { count: rotate.keep },
    },
  };
}

/**
 * Creates the log file's directory when missing and checks that it can be written, so that a
 * wrong path stops the broker at start with the reason rather than later in the worker.
 */
function prepareDirectory(file: string): void {
  const dir = dirname(file);
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new Error(`log.file: cannot write to the directory ${dir} (${why})`);
  }
}

/** Checks that `name` is installed, so that a missing one is a clear error, not a dead worker. */
function requirePackage(name: string, key: string): void {
  try {
    createRequire(import.meta.url).resolve(name);
  } catch {
    throw new Error(
      `${key} needs the ${name} package, which is not installed (npm install ${name})`,
    );
  }
}
