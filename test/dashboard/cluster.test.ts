/**
 * The overview of a cluster node in a real browser (Debian Chromium, headless): two Pipit
 * nodes in this process on a real redis-server, the dashboard served by one of them. Its
 * overview lists both nodes, one line each with its state, and the client count and the
 * message rate change on the line of the node a client connects to. Screenshot:
 * docs/dashboard/cluster.png.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { clusterViewOptions } from '../../src/cli/admin-route.js';
import { createAdminRoute, createDashboardRoute } from '../../src/index.js';
import { packageVersion } from '../../src/ops/index.js';
import { startNode } from '../cluster/cluster-nodes.js';
import { freePort, RedisFixture } from '../cluster/redis-fixture.js';
import { FULL_TOKEN, testTokens } from '../helpers/admin-http.js';
import { connectClient, endClient, type TestBroker } from '../helpers/broker.js';
import { ensureDashboardBuilt, launchChromium, logIn, screenshot, until } from './harness.js';

type ClusterNode = TestBroker & { nodeId: number };

let redis: RedisFixture;
let served: ClusterNode;
let peer: ClusterNode;
let base: string;
let browser: Browser;
let page: Page | undefined;

before(async () => {
  ensureDashboardBuilt();
  redis = await RedisFixture.start();
  served = await startNode(redis, {
    cluster: { url: redis.url, advertise: `127.0.0.1:${await freePort()}` },
  });
  peer = await startNode(redis, {
    cluster: { url: redis.url, advertise: `127.0.0.1:${await freePort()}` },
  });
  const view = clusterViewOptions(served.broker);
  served.broker.addHttpRoute(
    createAdminRoute({
      broker: served.broker,
      tokens: testTokens(),
      ...view,
      node: { version: packageVersion(), ...view.node },
    }),
  );
  served.broker.addHttpRoute(createDashboardRoute());
  const http = await served.broker.listen({ type: 'http', port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${http.port}`;
  browser = await launchChromium();
});

after(async () => {
  await page?.close();
  await browser?.close();
  await peer?.close();
  await served?.close();
  await redis?.stop();
});

/** The cell `testId` of node `nodeId`'s line, as text. */
async function cell(line: Locator, testId: string): Promise<string> {
  return ((await line.getByTestId(testId).textContent()) ?? '').trim();
}

describe('dashboard: the overview of a cluster node', () => {
  it('lists both nodes, one line each with its state, and the client count and rate move on the line of the node a client uses', async () => {
    page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    await logIn(page, base, FULL_TOKEN);
    const servedLine = page.getByTestId(`node-node-${served.nodeId}`);
    const peerLine = page.getByTestId(`node-node-${peer.nodeId}`);
    await until(
      async () => (await peerLine.count()) === 1 && (await cell(peerLine, 'node-state')) === 'up',
      "the peer's line, up",
    );
    assert.equal(await page.getByTestId('nodes').locator('tbody tr').count(), 2);
    assert.match((await servedLine.textContent()) ?? '', /\(this node\)/);
    assert.doesNotMatch((await peerLine.textContent()) ?? '', /\(this node\)/);
    assert.equal(await cell(servedLine, 'node-state'), 'up');
    assert.ok(
      ((await peerLine.textContent()) ?? '').includes(peer.broker.cluster!.options.advertise!),
      "the peer's advertised address",
    );
    await until(async () => (await cell(peerLine, 'node-clients')) === '0', 'peer: 0 clients');

    const client = await connectClient(peer.url, { clientId: 'dashboard-cluster-pub' });
    let publishing = true;
    const pump = (async () => {
      let i = 0;
      while (publishing) await client.publishAsync('cluster/load', String(i++), { qos: 1 });
    })();
    try {
      await until(
        async () =>
          (await cell(peerLine, 'node-clients')) === '1' &&
          Number((await cell(peerLine, 'node-in-rate')).replaceAll(',', '')) > 0,
        "the peer's line: 1 client, messages in per second above 0",
      );
    } finally {
      publishing = false;
      await pump;
    }
    // The client is the peer's: the served node's line still counts none.
    assert.equal(await cell(servedLine, 'node-clients'), '0');
    await screenshot(page, 'cluster');
    await endClient(client);
  });
});
