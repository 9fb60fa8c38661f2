/** The compiled mqtt-load for the bench tests (test/bench/c-load-*.test.ts). */
import assert from 'node:assert/strict';
import { prepareCLoad } from '../../bench/harness/c-load.js';
import { repoRoot } from '../client/brokers.js';

/**
 * Builds mqtt-load when stale and returns its path. Not skipped without gcc: it fails, naming
 * what is missing (.ci/run installs gcc).
 */
export function cLoadBinary(): string {
  const tool = prepareCLoad(repoRoot);
  assert.ok('binary' in tool, 'missing' in tool ? tool.missing : 'no binary');
  return tool.binary;
}
