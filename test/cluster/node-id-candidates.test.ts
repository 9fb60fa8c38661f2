/**
 * The node ids a join tries (src/cluster/membership.ts): every id once, from a random start.
 * A draw per id instead of one start left about a third of the ids untried (e^-1), so a join
 * into a cluster with few free ids could fail with "every cluster node id is held" while
 * some were free (join-id-under-recovery.test.ts, with one free id, failed so about one run
 * in three).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { everyIdFrom, NODE_ID_COUNT } from '../../src/cluster/node-id-claim.js';

describe('cluster: the node ids a join tries', () => {
  it('are every id once, from the start round to the one before it', () => {
    for (const start of [0, 1, 9, NODE_ID_COUNT - 1]) {
      const ids = everyIdFrom(start);
      assert.equal(ids.length, NODE_ID_COUNT);
      assert.equal(new Set(ids).size, NODE_ID_COUNT, 'no id twice, none left out');
      assert.equal(ids[0], start);
      assert.equal(ids.at(-1), (start + NODE_ID_COUNT - 1) % NODE_ID_COUNT);
    }
  });
});
