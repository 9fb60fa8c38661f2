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
}

/** A logger that drops everything (the default when embedding without a logger). */
export const silentLogger: Logger = {
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
  child: () => silentLogger,
};
