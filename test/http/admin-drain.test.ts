/**
 * `POST /api/v1/drain`: what SIGTERM does on a cluster node, from the admin API. Here the
 * route's answers (202 then the drain begins, 409 when it began already, 501 outside a
 * cluster, a read token refused); test/cluster/cli-session-move.test.ts drains a real
 * `pipit broker --cluster` child through it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertProblem, READ_TOKEN, startAdminApi } from '../helpers/admin-http.js';
import { waitFor } from '../helpers/broker.js';

describe('admin API: POST /drain', () => {
  it('on a broker outside a cluster: 501 naming why, nothing stops', async () => {
    const api = await startAdminApi();
    try {
      const answer = await api.call('POST', '/drain');
      assertProblem(answer, 501, 'not-configured', /not a cluster node/);
      assert.equal((await api.call('GET', '/counters')).status, 200, 'still serving');
    } finally {
      await api.close();
    }
  });

  it('answers 202 with the node id, then begins the drain once; 409 while it drains', async () => {
    let draining = false;
    let begun = 0;
    const api = await startAdminApi({
      node: { id: 'node-7' },
      drain: {
        draining: () => draining,
        begin: () => {
          begun++;
          draining = true;
        },
      },
    });
    try {
      const answer = await api.call('POST', '/drain');
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
      assert.deepEqual(answer.body, { nodeId: 'node-7', state: 'draining' });
      await waitFor(() => begun === 1, 5000, 'the drain to begin once the answer was written');
      assertProblem(await api.call('POST', '/drain'), 409, 'conflict', /draining/);
      assert.equal(begun, 1);
    } finally {
      await api.close();
    }
  });

  it('needs a full token: a read token gets 403 and nothing begins', async () => {
    let begun = 0;
    const api = await startAdminApi({
      drain: { draining: () => false, begin: () => begun++ },
    });
    try {
      assertProblem(await api.call('POST', '/drain', { token: READ_TOKEN }), 403, 'forbidden');
      assertProblem(await api.call('POST', '/drain', { token: null }), 401, 'unauthorized');
      assert.equal(begun, 0);
    } finally {
      await api.close();
    }
  });
});
