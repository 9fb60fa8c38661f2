/**
 * Byte sizes in the configuration: a plain number of bytes, or a string with a unit such as
 * "64KiB", "1 MiB" or "10MB". Binary units (KiB, MiB, GiB) are powers of 1024; decimal ones
 * (KB, MB, GB) powers of 1000, as their names say.
 */

const UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

const SIZE_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i;

/**
 * The number of bytes `value` stands for, or `undefined` when it is not a size: an unknown
 * unit, a negative or non-finite number, or a fraction of a byte ("1.5B").
 */
export function parseSize(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const match = SIZE_PATTERN.exec(value);
  if (match === null) return undefined;
  const unit = UNITS[match[2] === '' ? 'b' : match[2].toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Number(match[1]) * unit;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
