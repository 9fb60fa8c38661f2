/**
 * Shared by the config tests: what `parseConfig` says about a file it must refuse.
 */
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../src/config/index.js';

/**
 * The problems `parseConfig` reports for `text` read as `source`; fails the test when the
 * text is accepted or when something other than a ConfigError is thrown.
 */
export function configProblems(text: string, source = 'pipit.yaml'): readonly string[] {
  try {
    parseConfig(text, source);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
    return err.problems;
  }
  assert.fail(`configuration was accepted:\n${text}`);
}
