/**
 * Redis going away and coming back empty: no node crashes, a publish between clients of one
 * node keeps flowing meanwhile, and once Redis is back the nodes write their leases and route
 * tables again, read each other's, and messages cross nodes again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import {
  connectClient,
  endClient,
  nextMessages,
  type TestBroker,
  waitFor,
} from '../helpers/broker.js';
import { startNode, waitForRoute } from './cluster-nodes.js';
import { RedisFixture } from './redis-fixture.js';

describe('cluster: Redis restart', () => {
  let redis: RedisFixture;
  let a: TestBroker & { nodeId: number };
  let b: TestBroker & { nodeId: number };
  const clients: MqttClient[] = [];

  before(async () => {
    redis = await RedisFixture.start();
    a = await startNode(redis);
    b = await startNode(redis);
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    await a.close();
    await b.close();
    await redis.stop();
  });

  it('keeps local traffic flowing while Redis is down, refuses new clients with 0x88, and resynchronises routes when it is back; /readyz is 503 (redis) meanwhile', async () => {
    const remoteSub = await connectClient(b.url, { protocolVersion: 5 });
    const localSub = await connectClient(a.url, { protocolVersion: 5 });
    const pub = await connectClient(a.url, { protocolVersion: 5 });
    clients.push(remoteSub, localSub, pub);
    await remoteSub.subscribeAsync('restart/t', { qos: 1 });
    await localSub.subscribeAsync('restart/local', { qos: 1 });
    await waitForRoute(a, b.nodeId, 'restart/t');
    const http = await a.broker.listen({ type: 'http', port: 0 });
    const readyz = async (): Promise<{ status: number; body: string }> => {
      const res = await fetch(`${http.url}/readyz`);
      return { status: res.status, body: await res.text() };
    };
    assert.equal((await readyz()).status, 200);

    await redis.kill();
    const local = nextMessages(localSub, 1);
    await pub.publishAsync('restart/local', 'still here', { qos: 1 });
    assert.equal((await local)[0]!.payload.toString(), 'still here');
    // Who holds a new client's id cannot be known without Redis: refused with a reason.
    await waitFor(() => a.broker.cluster!.status().redis !== 'ready', 5000, 'a to see Redis gone');
    // /readyz says so, naming Redis, while /healthz (the process serves) stays 200.
    const notReady = await readyz();
    assert.equal(notReady.status, 503);
    assert.match(notReady.body, /"name":"redis","ready":false/);
    assert.equal((await fetch(`${http.url}/healthz`)).status, 200);
    await assert.rejects(
      connectClient(a.url, { protocolVersion: 5, clientId: 'newcomer' }),
      (err: Error & { code?: number }) => {
        assert.equal(err.code, 0x88);
        return true;
      },
    );

    await redis.restart();
    // Redis came back empty: each node sets its lease and writes its route table again.
    await waitFor(
      async () => (await redis.redis.hkeys(`pipit:routes:${b.nodeId}`)).includes('restart/t'),
      10_000,
      "b's route table written again",
    );
    await waitFor(
      async () =>
        (await redis.redis.exists(`pipit:node:${a.nodeId}`, `pipit:node:${b.nodeId}`)) === 2,
      10_000,
      'both leases set again',
    );
    await waitForRoute(a, b.nodeId, 'restart/t');
    const remote = nextMessages(remoteSub, 1, 10_000);
    await pub.publishAsync('restart/t', 'across again', { qos: 1 });
    assert.equal((await remote)[0]!.payload.toString(), 'across again');
    await waitFor(async () => (await readyz()).status === 200, 10_000, '/readyz ready again');
  });
});
