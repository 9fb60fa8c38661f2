/**
 * The `--nodes` supervisor's restart backoff (src/cli/restart-backoff.ts): a node that ran a
 * while is replaced at once; nodes that die soon after starting are replaced later and later,
 * up to the cap; a node that runs long enough ends the run. test/cluster/cli-nodes-per-core
 * checks the supervisor logs the delay it applies to a real node.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RESTART_BACKOFF, RestartBackoff } from '../../src/cli/restart-backoff.js';

describe('--nodes restart backoff', () => {
  it('replaces at once a node that ran at least quickMs', () => {
    const backoff = new RestartBackoff();
    assert.equal(backoff.delayAfter(RESTART_BACKOFF.quickMs), 0);
    assert.equal(backoff.delayAfter(10 * 60_000), 0);
  });

  it('doubles the delay with each quick death in a row, up to maxDelayMs; a long run resets it', () => {
    const backoff = new RestartBackoff({ quickMs: 1000, firstDelayMs: 100, maxDelayMs: 1000 });
    const delays = [10, 10, 10, 10, 10, 10].map((ran) => backoff.delayAfter(ran));
    assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
    assert.equal(backoff.delayAfter(1000), 0, 'a node that ran quickMs ends the run');
    assert.equal(backoff.delayAfter(5), 100, 'and the next quick death starts over');
  });

  it('stays at the cap however long the run of quick deaths', () => {
    const backoff = new RestartBackoff();
    let last = 0;
    for (let i = 0; i < 100; i++) last = backoff.delayAfter(0);
    assert.equal(last, RESTART_BACKOFF.maxDelayMs);
  });
});
