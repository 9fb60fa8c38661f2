/**
 * The bound on a node's stop steps (src/cluster/stop-within.ts): a step that never settles is
 * left behind with a warning naming it; one that settles in time is waited for, its failure
 * passed on. (The step a gone Redis Cluster holds for good: redis-cluster-close-gone.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stopWithin } from '../../src/cluster/stop-within.js';
import { capturingLogger } from '../helpers/capturing-logger.js';

describe('cluster: stopWithin', () => {
  it('goes on without a step that never settles, naming it in a warning', async () => {
    const lines: string[] = [];
    await stopWithin(capturingLogger(lines), 'the inbox reader', () => new Promise(() => {}), 20);
    assert.deepEqual(lines, ['cluster: stopping did not finish: the inbox reader']);
  });

  it('waits for a step that settles, and passes its failure on; nothing logged', async () => {
    const lines: string[] = [];
    const logger = capturingLogger(lines);
    let done = false;
    await stopWithin(logger, 'a', async () => {
      await new Promise((resolve) => setImmediate(resolve));
      done = true;
    });
    assert.equal(done, true);
    await assert.rejects(
      stopWithin(logger, 'b', () => Promise.reject(new Error('Connection is closed.'))),
      /Connection is closed/,
    );
    await stopWithin(logger, 'c', () => undefined);
    assert.deepEqual(lines, []);
  });
});
