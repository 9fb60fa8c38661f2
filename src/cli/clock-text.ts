/**
 * Time stamps for `sub -F`: the moment a message arrived, with nanosecond resolution, and
 * its renderings (ISO 8601, Unix seconds with nanoseconds, a subset of strftime).
 */

/** When a message arrived. */
export interface Stamp {
  /** Local date (millisecond precision). */
  date: Date;
  /** Nanoseconds since the Unix epoch. */
  ns: bigint;
}

// Wall clock once, then the monotonic clock: nanosecond steps without drifting per call.
const EPOCH_NS = BigInt(Date.now()) * 1_000_000n;
const HR_START = process.hrtime.bigint();

/** The current time. */
export function now(): Stamp {
  const ns = EPOCH_NS + (process.hrtime.bigint() - HR_START);
  return { date: new Date(Number(ns / 1_000_000n)), ns };
}

const pad = (n: number | bigint, width = 2): string => String(n).padStart(width, '0');

/** The local UTC offset as +HHMM / -HHMM. */
function offset(d: Date): string {
  const minutes = -d.getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  return `${sign}${pad(Math.floor(Math.abs(minutes) / 60))}${pad(Math.abs(minutes) % 60)}`;
}

/** The nanoseconds within the current second, 9 digits (`@N`). */
export function nanosOfSecond(s: Stamp): string {
  return pad(s.ns % 1_000_000_000n, 9);
}

/** ISO 8601 local time to the second with its offset: 2016-08-10T09:47:38+0100 (`%I`). */
export function isoSeconds(s: Stamp): string {
  const d = s.date;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${offset(d)}`;
}

/** ISO 8601 with microseconds, for the JSON output: 2020-05-06T22:12:00.000000+0100. */
export function isoMicros(s: Stamp): string {
  const micros = pad((s.ns / 1000n) % 1_000_000n, 6);
  return isoSeconds(s).replace(/([+-]\d{4})$/, `.${micros}$1`);
}

/** Unix seconds with nanoseconds: 1470818943.786368637 (`%U`). */
export function unixNanos(s: Stamp): string {
  return `${s.ns / 1_000_000_000n}.${nanosOfSecond(s)}`;
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

function dayOfYear(d: Date): number {
  const start = new Date(d.getFullYear(), 0, 1);
  return Math.floor((d.getTime() - start.getTime()) / 86_400_000) + 1;
}

/** strftime conversions `-F '@X'` supports, by letter. */
const STRFTIME: Readonly<Record<string, (d: Date) => string>> = {
  a: (d) => DAYS[d.getDay()].slice(0, 3),
  A: (d) => DAYS[d.getDay()],
  b: (d) => MONTHS[d.getMonth()].slice(0, 3),
  B: (d) => MONTHS[d.getMonth()],
  d: (d) => pad(d.getDate()),
  D: (d) => `${pad(d.getMonth() + 1)}/${pad(d.getDate())}/${pad(d.getFullYear() % 100)}`,
  e: (d) => String(d.getDate()).padStart(2, ' '),
  F: (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`,
  H: (d) => pad(d.getHours()),
  I: (d) => pad(d.getHours() % 12 || 12),
  j: (d) => pad(dayOfYear(d), 3),
  k: (d) => String(d.getHours()).padStart(2, ' '),
  m: (d) => pad(d.getMonth() + 1),
  M: (d) => pad(d.getMinutes()),
  n: () => '\n',
  p: (d) => (d.getHours() < 12 ? 'AM' : 'PM'),
  R: (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}`,
  s: (d) => String(Math.floor(d.getTime() / 1000)),
  S: (d) => pad(d.getSeconds()),
  t: () => '\t',
  T: (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`,
  u: (d) => String(d.getDay() || 7),
  w: (d) => String(d.getDay()),
  y: (d) => pad(d.getFullYear() % 100),
  Y: (d) => String(d.getFullYear()),
  z: (d) => offset(d),
  '%': () => '%',
};

/** The strftime conversion for `letter`, or undefined when it is not supported. */
export function strftimeConversion(letter: string): ((d: Date) => string) | undefined {
  return Object.hasOwn(STRFTIME, letter) ? STRFTIME[letter] : undefined;
}

/** The letters `@X` accepts, for error messages. */
export const STRFTIME_LETTERS = Object.keys(STRFTIME).join('');
