/**
 * Checks of what nodes read from each other through Redis (announcements, control
 * messages): a Pipit node writes them, but Redis is shared, so what is read is checked
 * before it is used. Each check throws an Error that says what is wrong.
 */
import { NODE_ID_COUNT } from './node-id-claim.js';

/** Parses `text` as a JSON object. @throws Error when it is not one. */
export function parseJsonObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('not a JSON object');
  }
  return value as Record<string, unknown>;
}

/** `value` as a node id (an integer 0-255). @throws Error naming `field` otherwise. */
export function nodeIdField(value: unknown, field: string): number {
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < 0 ||
    value >= NODE_ID_COUNT
  ) {
    throw new Error(`${field} is not a node id (0-${NODE_ID_COUNT - 1})`);
  }
  return value;
}

/** `value` as a string. @throws Error naming `field` otherwise. */
export function stringField(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new Error(`${field} is not a string`);
  return value;
}

/** `value` as a list of strings (absent: undefined). @throws Error naming `field` otherwise. */
export function optionalStringList(value: unknown, field: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new Error(`${field} is not a list of strings`);
  }
  return value as string[];
}
