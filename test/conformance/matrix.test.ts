/**
 * The conformance matrix is sound and current: every server statement is tested or has a
 * recorded reason, every tag names a statement, and docs/conformance.md and the README's
 * summary rows are what `npm run conformance` writes (no diff after running it).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generate, REPO_ROOT, staleFiles } from '../../scripts/conformance/main.js';

describe('conformance matrix', () => {
  const generated = generate(REPO_ROOT);

  it('has no problems: stray tags, untested server statements, deviations without a test', () => {
    assert.deepEqual(generated.matrix.problems, []);
  });

  it('docs/conformance.md and the README summary are current (run npm run conformance)', () => {
    assert.deepEqual(staleFiles(REPO_ROOT, generated), []);
  });

  it('lists every statement id of MQTT 3.1.1 (141) and MQTT 5.0 (251) once', () => {
    const counts = generated.matrix.versions.map((v) => [v.list.version, v.rows.length]);
    assert.deepEqual(counts, [
      ['3.1.1', 141],
      ['5.0', 251],
      ['3.1', 6],
    ]);
  });
});
