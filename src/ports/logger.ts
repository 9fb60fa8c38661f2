/**
 * The logging port: the subset of pino's API the broker uses, so any pino logger (or a
 * test double that records lines) can be passed in.
 */

/** Structured log method: an object of fields, then a message. */
export type LogMethod = (fields: Record<string, unknown>, message: string) => void;

/** A structured logger. */
export interface Logger {
  error: LogMethod;
  warn: LogMethod;
  info: LogMethod;
  debug: LogMethod;
  /** A logger whose lines all carry `bindings`. */
  child(bindings: Record<string, unknown>): Logger;
  /**
   * Whether a line at `level` would be written now (pino's own method). Asked before the
   * fields of a line written per connection are gathered, so a broker logging at `warn` does
   * not build them for nothing; a logger without it is given every line.
   */
  isLevelEnabled?(level: 'error' | 'warn' | 'info' | 'debug'): boolean;
}

/** A logger that drops everything (the default when embedding without a logger). */
export const silentLogger: Logger = {
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
  child: () => silentLogger,
  isLevelEnabled: () => false,
};
