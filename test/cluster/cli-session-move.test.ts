/**
 * Sessions move between `pipit broker --cluster` child processes: with `--cluster` and no
 * storage settings a node uses the Redis store on the cluster's Redis, so a persistent
 * session written by one node is resumed on the other, with the messages queued meanwhile.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fastHash } from '../config/fixtures.js';
import { callApi, FULL_TOKEN } from '../helpers/admin-http.js';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import { type CliNode, startCliNode, stopNode } from './cli-node.js';
import { connectCollecting } from './cluster-nodes.js';
import { freePort, RedisFixture } from './redis-fixture.js';

describe('cluster: sessions move between pipit broker --cluster children, and drain', () => {
  let redis: RedisFixture;
  let a: CliNode;
  let b: CliNode;

  before(async () => {
    redis = await RedisFixture.start();
    a = await startCliNode(redis.url);
    b = await startCliNode(redis.url);
  });

  after(async () => {
    await stopNode(a);
    await stopNode(b);
    await redis.stop();
  });

  it('uses the Redis store on the cluster Redis, and a session left on one node resumes on the other with its queued messages', async () => {
    assert.match(a.output(), /"store":"redis"[^\n]*"msg":"store opened"/);
    const persistent = {
      protocolVersion: 5,
      clientId: 'cli-mover',
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    } as const;
    const first = await connectCollecting(a.url, persistent);
    await first.client.subscribeAsync('cli/move/#', { qos: 1 });
    await endClient(first.client);
    const publisher = await connectClient(a.url, { protocolVersion: 4 });
    for (let i = 0; i < 3; i++) await publisher.publishAsync('cli/move/x', `m${i}`, { qos: 1 });
    await endClient(publisher);
    const moved = await connectCollecting(b.url, persistent);
    try {
      assert.equal(moved.sessionPresent, true);
      await waitFor(() => moved.messages.length >= 3, 10_000, 'the queued messages');
      assert.deepEqual(
        moved.messages.map((m) => m.payload),
        ['m0', 'm1', 'm2'],
      );
      // Logged before node a answered the move, but its stdout reaches this process through a
      // pipe, in no fixed order with b's messages through the socket: waited for, not read once.
      const movedLine =
        /"clientId":"cli-mover"[^\n]*"msg":"cluster: session moved to another node"/;
      await waitFor(() => movedLine.test(a.output()), 10_000, 'node a logging the move');
    } finally {
      await endClient(moved.client);
    }
  });
  it('drains on SIGTERM: MQTT 5 clients get DISCONNECT 0x9C, the session stays in the store, the node exits 0', async () => {
    const persistent = {
      protocolVersion: 5,
      clientId: 'cli-drained',
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    } as const;
    const client = await connectCollecting(a.url, persistent);
    await client.client.subscribeAsync('cli/drain/#', { qos: 1 });
    const disconnect = new Promise<number | undefined>((resolve) =>
      client.client.once('disconnect', (packet) => resolve(packet.reasonCode)),
    );
    const exited = once(a.child, 'exit');
    a.child.kill('SIGTERM');
    assert.equal(await disconnect, 0x9c);
    const [code] = await exited;
    assert.equal(code, 0);
    assert.match(a.output(), /"clients":1[^\n]*"msg":"cluster: drained"/);
    assert.equal(await redis.redis.hexists('pipit:{c:cli-drained}:sub', 'cli/drain/#'), 1);
    await endClient(client.client, true);
  });

  it('drains on POST /api/v1/drain as on SIGTERM: 202, then MQTT 5 clients get DISCONNECT 0x9C and the node exits 0', async () => {
    const httpPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'pipit-drain-api-'));
    const file = join(dir, 'pipit.yaml');
    writeFileSync(
      file,
      [
        `listeners:\n  - port: 0\n  - type: http\n    port: ${httpPort}\n    host: 127.0.0.1`,
        `adminApi:\n  tokens:\n    - { name: ops, hash: '${fastHash(FULL_TOKEN)}' }`,
      ].join('\n'),
    );
    const c = await startCliNode(redis.url, ['-c', file]);
    try {
      const client = await connectCollecting(c.url, {
        protocolVersion: 5,
        clientId: 'api-drained',
        clean: false,
        properties: { sessionExpiryInterval: 300 },
      });
      await client.client.subscribeAsync('api/drain/#', { qos: 1 });
      const disconnect = new Promise<number | undefined>((resolve) =>
        client.client.once('disconnect', (packet) => resolve(packet.reasonCode)),
      );
      const exited = once(c.child, 'exit');
      const answer = await callApi(`http://127.0.0.1:${httpPort}`, 'POST', '/drain');
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
      assert.equal(answer.body.state, 'draining');
      assert.match(answer.body.nodeId, /^node-\d+$/);
      assert.equal(await disconnect, 0x9c);
      const [code] = await exited;
      assert.equal(code, 0);
      assert.match(c.output(), /"signal":"admin API drain"[^\n]*"msg":"shutting down"/);
      assert.match(c.output(), /"clients":1[^\n]*"msg":"cluster: drained"/);
      assert.equal(await redis.redis.hexists('pipit:{c:api-drained}:sub', 'api/drain/#'), 1);
      await endClient(client.client, true);
    } finally {
      await stopNode(c);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
