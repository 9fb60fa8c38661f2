/**
 * Parsers for the values of command-line flags. Each throws a UsageError that names the
 * flag and the value, so `pipit pub -q 3` says exactly what is wrong.
 */
import type { ProtocolVersion, QoS } from '../protocol/packets.js';

/** A mistake in the command line: printed as `Error: <message>`, exit code 1. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Parses a decimal integer flag in [min, max]. */
export function parseIntFlag(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

/** Parses a number of seconds that may have a fraction (e.g. --repeat-delay 0.5). */
export function parseSecondsFlag(name: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new UsageError(`${name} must be a number of seconds >= 0, got "${value}"`);
  }
  return n;
}

/** Parses -q / --will-qos. */
export function parseQos(value: string, name = 'qos'): QoS {
  return parseIntFlag(name, value, 0, 2) as QoS;
}

/** Maps -V 31|311|5 (also 3|4|mqttv31|mqttv311|mqttv5) to a protocol level. */
export function parseVersion(value: string): ProtocolVersion {
  const v = value.toLowerCase().replace(/^mqttv/, '');
  if (v === '31' || v === '3') return 3;
  if (v === '311' || v === '4') return 4;
  if (v === '5') return 5;
  throw new UsageError(`protocol version (-V) must be 31, 311 or 5, got "${value}"`);
}

/** The Session Expiry Interval that means "never expires". */
export const NEVER_EXPIRES = 0xffffffff;

/** Parses -x: 0-4294967294 seconds, or -1, 4294967295 or ∞ for a session that never expires. */
export function parseSessionExpiry(value: string): number {
  if (value === '-1' || value === '∞') return NEVER_EXPIRES;
  return parseIntFlag('session expiry interval (-x)', value, 0, NEVER_EXPIRES);
}
