/**
 * The building blocks of the configuration schema (schema.ts and its sections): numbers,
 * sizes, flags and strings whose messages say what was expected.
 */
import { z } from 'zod';
import { parseSize } from './sizes.js';

/** Upper bound for sizes with no natural limit (1 PiB). */
export const UNBOUNDED = 2 ** 50;

/** A number that must be an integer in [min, max]. */
export function int(min: number, max: number, what = `an integer ${min}-${max}`) {
  const error = `expected ${what}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** A byte size: a number or a string like "64KiB", within [min, max]. */
export function size(min: number, max: number) {
  const range = max >= UNBOUNDED ? `of at least ${min}` : `${min}-${max}`;
  const expected = `expected a size in bytes ${range} (a number or a string like "64KiB", "1MiB")`;
  return z.unknown().transform((value, ctx) => {
    const bytes = parseSize(value);
    if (bytes === undefined || bytes < min || bytes > max) {
      ctx.addIssue({ code: 'custom', message: expected, input: value });
      return z.NEVER;
    }
    return bytes;
  });
}

export const bool = () => z.boolean({ error: 'expected true or false' });
export const text = () =>
  z.string({ error: 'expected a string' }).min(1, { error: 'expected a non-empty string' });
export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `expected one of ${values.join(', ')}` });

/** A number of seconds greater than 0, at most `max`. */
export function seconds(max: number) {
  const error = `expected a number of seconds greater than 0, at most ${max}`;
  return z.number({ error }).positive({ error }).max(max, { error });
}
