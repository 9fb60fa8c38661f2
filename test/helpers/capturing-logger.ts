/**
 * A logger for tests that look for what the broker said: it keeps the message of each line
 * logged at the chosen levels and drops the rest.
 */
import type { Logger } from '../../src/ports/index.js';

/** The levels a {@link capturingLogger} can keep. */
export type CapturedLevel = 'error' | 'warn' | 'info' | 'debug';

/**
 * A logger that appends to `lines` the message of every line logged at one of `levels`
 * (errors and warnings unless told otherwise); its children log into the same list.
 */
export function capturingLogger(
  lines: string[],
  levels: readonly CapturedLevel[] = ['error', 'warn'],
): Logger {
  const keep = (_obj: unknown, msg?: string): void => {
    lines.push(msg ?? '');
  };
  const drop = (): void => {};
  const logger = {
    error: levels.includes('error') ? keep : drop,
    warn: levels.includes('warn') ? keep : drop,
    info: levels.includes('info') ? keep : drop,
    debug: levels.includes('debug') ? keep : drop,
    child: () => logger,
  } as unknown as Logger;
  return logger;
}
