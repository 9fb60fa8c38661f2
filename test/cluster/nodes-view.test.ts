/**
 * `GET /api/v1/nodes` on a cluster: every live node with the summary it publishes on each
 * heartbeat (state, version, uptime, address, connections, message totals, listeners). Two
 * Pipit nodes in this process on a real redis-server, each with its admin API over real HTTP;
 * the test also plays a third node in Redis (a lease, no summary; a control channel it
 * answers) to show a peer without a summary and a node caught in the middle of its drain.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { clusterViewOptions } from '../../src/cli/admin-route.js';
import { type Broker, createAdminRoute } from '../../src/index.js';
import { packageVersion } from '../../src/ops/index.js';
import { callApi, type Json, serveRoutes, testTokens } from '../helpers/admin-http.js';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import { validateValue } from '../helpers/openapi-check.js';
import { startSharedNode } from './cluster-nodes.js';
import { freePort, RedisFixture } from './redis-fixture.js';

/**
 * The node id the test plays in Redis (no broker behind it); moved on to one no live node holds
 * (ids are claimed from a random start).
 */
let PLAYED = 77;

/** A cluster node with its admin API served on its own HTTP port. */
interface ApiNode {
  broker: Broker;
  url: string;
  id: string;
  base: string;
  server: Server;
}

async function startApiNode(redis: RedisFixture, advertise?: string): Promise<ApiNode> {
  const node = await startSharedNode(
    redis,
    advertise ? { cluster: { url: redis.url, advertise } } : {},
  );
  const view = clusterViewOptions(node.broker);
  const route = createAdminRoute({
    broker: node.broker,
    tokens: testTokens(),
    ...view,
    node: { version: '1.2.3-test', ...view.node },
  });
  const { server, base } = await serveRoutes([route]);
  return { broker: node.broker, url: node.url, id: `node-${node.nodeId}`, base, server };
}

async function nodesOf(node: ApiNode): Promise<Json[]> {
  const answer = await callApi(node.base, 'GET', '/nodes');
  assert.equal(answer.status, 200);
  return answer.body.items;
}

/** Waits until `observer` lists node `id` and `predicate` holds for that line; returns it. */
async function lineOf(
  observer: ApiNode,
  id: string,
  predicate: (line: Json) => boolean,
  what: string,
): Promise<Json> {
  let found: Json;
  await waitFor(
    async () => {
      found = (await nodesOf(observer)).find((n) => n.nodeId === id);
      return found !== undefined && predicate(found);
    },
    10_000,
    what,
  );
  return found;
}

describe('cluster: GET /nodes lists every live node with its figures', () => {
  let redis: RedisFixture;
  let a: ApiNode;
  let b: ApiNode;
  let played: Redis | undefined;
  const clients: MqttClient[] = [];

  before(async () => {
    redis = await RedisFixture.start();
    a = await startApiNode(redis);
    b = await startApiNode(redis, `127.0.0.1:${await freePort()}`);
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    played?.disconnect();
    for (const node of [a, b]) {
      node?.server.closeAllConnections();
      node?.server.close();
      await node?.broker.close();
    }
    await redis.stop();
  });

  it('lists this node, then its peer with the version, address and listeners it published; the figures move as clients connect and publish', async () => {
    const doc = (await callApi(a.base, 'GET', '/openapi.json', { token: null })).body;
    // Its listener opened after it joined: the next heartbeat's summary has it.
    const first = await lineOf(
      a,
      b.id,
      (n) => n.state === 'up' && n.listeners.length > 0,
      'node b listed as up, with its listener',
    );
    const answer = await callApi(a.base, 'GET', '/nodes');
    const pageSchema = { $ref: '#/components/schemas/NodeInfoPage' };
    assert.deepEqual(validateValue(doc, pageSchema, answer.body), [], 'fits NodeInfoPage');
    const [self] = answer.body.items;
    assert.equal(self.nodeId, a.id);
    assert.equal(self.self, true);
    assert.equal(self.state, 'up');
    assert.equal(first.self, false);
    // A peer's version is its package's, as it published it (not this API's `node.version`).
    assert.equal(first.version, packageVersion());
    assert.equal(first.address, b.broker.cluster!.options.advertise);
    assert.equal(typeof first.startedAt, 'number');
    assert.equal(typeof first.uptimeSeconds, 'number');
    assert.deepEqual(
      first.listeners.map((l: Json) => l.url),
      b.broker.addresses.map((l) => l.url),
    );

    const before = { connections: first.connections, received: first.messagesReceived };
    const publisher = await connectClient(b.url, { clientId: 'nodes-view-pub' });
    clients.push(publisher);
    for (let i = 0; i < 3; i++) await publisher.publishAsync('nodes/view', `m${i}`, { qos: 1 });
    const moved = await lineOf(
      a,
      b.id,
      (n) => n.connections === before.connections + 1 && n.messagesReceived >= before.received + 3,
      "node b's connections and messages received to move on node a's /nodes",
    );
    assert.equal(moved.state, 'up');
    // Node a's own line counts its own clients (none): b's are not mixed in.
    assert.equal((await nodesOf(a))[0].connections, 0);
    // Node b lists itself first with the same figures, read live.
    const own = (await nodesOf(b))[0];
    assert.equal(own.nodeId, b.id);
    assert.equal(own.connections, 1);
    assert.ok(own.messagesReceived >= 3);
  });

  it("lists a live peer whose summary is missing or unreadable with its id and state 'unknown'", async () => {
    played = redis.redis.duplicate();
    const live = new Set([a.id, b.id]);
    while (live.has(`node-${PLAYED}`)) PLAYED = (PLAYED + 1) % 256;
    await played.set(`pipit:node:${PLAYED}`, 'played-by-the-test', 'PX', 60_000);
    await played.sadd('pipit:nodes', String(PLAYED));
    const unknown = await lineOf(a, `node-${PLAYED}`, () => true, 'the played node listed');
    assert.deepEqual(unknown, {
      nodeId: `node-${PLAYED}`,
      self: false,
      state: 'unknown',
      version: null,
      startedAt: null,
      uptimeSeconds: null,
      address: null,
      connections: null,
      messagesReceived: null,
      messagesSent: null,
      listeners: [],
    });
    await played.set(`pipit:stats:${PLAYED}`, 'not json', 'PX', 60_000);
    const garbled = (await nodesOf(a)).find((n) => n.nodeId === `node-${PLAYED}`);
    assert.equal(garbled.state, 'unknown');
  });

  it('shows a draining node as draining, to its peers and on its own /nodes, and no more once it left', async () => {
    assert.ok(played, 'the played node of the previous test');
    const control = played.duplicate();
    // The played node advertises an address: node b refers its clients there and hands it
    // its sessions, and waits for its answer; the test answers once it has looked.
    await played.hset('pipit:addresses', String(PLAYED), '127.0.0.1:1');
    const handOver = new Promise<{ req: string; from: number }>((resolve) => {
      control.on('message', (_channel: string, text: string) => resolve(JSON.parse(text)));
    });
    await control.subscribe(`pipit:control:${PLAYED}`);
    const sessionHolder = await connectClient(b.url, {
      clientId: 'nodes-view-persistent',
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    });
    clients.push(sessionHolder);
    const drained = b.broker.drain();
    const request = await handOver;
    try {
      const seen = await lineOf(a, b.id, (n) => n.state === 'draining', 'b draining on a');
      assert.equal(seen.self, false);
      const own = (await nodesOf(b))[0];
      assert.equal(own.self, true);
      assert.equal(own.state, 'draining');
    } finally {
      await played.publish(
        `pipit:control:${request.from}`,
        JSON.stringify({ t: 'released', req: request.req }),
      );
      await drained;
      control.disconnect();
    }
    await waitFor(
      async () => !(await nodesOf(a)).some((n) => n.nodeId === b.id),
      10_000,
      'node b gone from node a once it left',
    );
    await played.del(`pipit:node:${PLAYED}`, `pipit:stats:${PLAYED}`);
    await played.hdel('pipit:addresses', String(PLAYED));
  });
});
