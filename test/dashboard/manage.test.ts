/**
 * The dashboard's pages that act on the broker, in a real browser against a real broker and
 * MQTT.js clients: the clients table searched, a client's page and its Disconnect button, the
 * retained messages of the topics page (shown, deleted), publishing from the page, the live
 * tap (a message published after the filter was entered; the rate cap with 500 messages; a
 * read-only token refused). Screenshots of each page go to docs/dashboard/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { FULL_TOKEN, READ_TOKEN } from '../helpers/admin-http.js';
import { connectClient, endClient, nextMessages } from '../helpers/broker.js';
import {
  type DashboardBroker,
  ensureDashboardBuilt,
  launchChromium,
  logIn,
  screenshot,
  shownNumber,
  startDashboardBroker,
  until,
} from './harness.js';

let server: DashboardBroker;
/** A broker whose tap clock stands still: a burst falls in one second of the rate window. */
let frozen: DashboardBroker;
let browser: Browser;
const pages: Page[] = [];
const clients: MqttClient[] = [];

before(async () => {
  ensureDashboardBuilt();
  server = await startDashboardBroker();
  frozen = await startDashboardBroker({ tap: { maxRate: 50, now: () => 1_000_000 } });
  browser = await launchChromium();
});

after(async () => {
  for (const page of pages) await page.close();
  for (const client of clients) await endClient(client, true);
  await browser?.close();
  await server?.close();
  await frozen?.close();
});

async function openAt(target: DashboardBroker, hash: string, token = FULL_TOKEN): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  pages.push(page);
  await logIn(page, target.base, token);
  await page.goto(`${target.base}/${hash}`);
  return page;
}

async function client(clientId: string, target = server): Promise<MqttClient> {
  const c = await connectClient(target.tb.url, { clientId, protocolVersion: 5 });
  clients.push(c);
  return c;
}

describe('dashboard: clients', () => {
  it('the clients table finds a client by search', async () => {
    for (const id of ['kitchen-sensor', 'hall-sensor', 'garage-door']) {
      await (await client(id)).subscribeAsync(`home/${id}/#`, { qos: 1 });
    }
    const page = await openAt(server, '#/clients');
    const rows = page.locator('[data-testid="clients-table"] tbody tr');
    await until(async () => (await rows.count()) === 3, 'three clients listed');
    await page.getByLabel('Search clients').fill('hall');
    await until(
      async () =>
        (await rows.count()) === 1 &&
        (await rows.first().getAttribute('data-client')) === 'hall-sensor',
      'only hall-sensor listed',
    );
    // Its session's figures: one subscription.
    assert.equal((await rows.first().locator('td').nth(5).textContent())?.trim(), '1');
    await page.getByLabel('Search clients').fill('');
    await until(async () => (await rows.count()) === 3, 'three clients again');
    await screenshot(page, 'clients');
  });

  it('disconnecting a client from its page closes that MQTT connection', async () => {
    const target = await client('to-disconnect');
    await target.subscribeAsync('cmd/to-disconnect/#', { qos: 1 });
    const page = await openAt(server, '#/clients/to-disconnect');
    await page
      .locator('[data-testid="subscriptions"] td', { hasText: 'cmd/to-disconnect/#' })
      .waitFor();
    await screenshot(page, 'client');
    const closed = new Promise<void>((resolve) => target.once('close', () => resolve()));
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await closed;
    assert.equal(target.connected, false);
    await page.getByRole('status').filter({ hasText: 'to-disconnect was disconnected' }).waitFor();
    assert.equal(await server.tb.broker.admin.client('to-disconnect'), undefined);
  });
});

describe('dashboard: topics', () => {
  it('a retained message appears, is deleted and disappears', async () => {
    const page = await openAt(server, '#/topics');
    const row = page.locator('tr[data-topic="status/boiler"]');
    assert.equal(await row.count(), 0);
    const publisher = await client('boiler');
    await publisher.publishAsync('status/boiler', '{"on":true,"temp":61}', {
      qos: 1,
      retain: true,
    });
    await row.waitFor();
    await page.getByLabel('json').check();
    await until(
      async () => ((await row.locator('pre').textContent()) ?? '').includes('"temp": 61'),
      'the payload shown as JSON',
    );
    await screenshot(page, 'topics');
    await page.getByRole('button', { name: 'Delete status/boiler' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal(await server.tb.broker.admin.retainedMessage('status/boiler'), undefined);
  });

  it('publishing from the page reaches a subscriber', async () => {
    const subscriber = await client('page-listener');
    await subscriber.subscribeAsync('from/page', { qos: 1 });
    const page = await openAt(server, '#/topics');
    await page.getByLabel('Publish topic').fill('from/page');
    await page.getByLabel('Publish payload').fill('hello from the dashboard');
    // Waited for from the click: opening the page in a browser may take seconds on a busy
    // machine, and must not eat into the message's wait.
    const received = nextMessages(subscriber, 1, 10_000);
    await page.getByRole('button', { name: 'Publish', exact: true }).click();
    const [message] = await received;
    assert.equal(message!.topic, 'from/page');
    assert.equal(message!.payload.toString(), 'hello from the dashboard');
    await page
      .getByRole('status')
      .filter({ hasText: 'published to from/page: 1 deliveries' })
      .waitFor();
  });
});

describe('dashboard: live tap', () => {
  async function startTap(page: Page, filter: string): Promise<void> {
    await page.getByLabel('Tap filter').fill(filter);
    await page.getByRole('button', { name: 'Start' }).click();
  }

  it('shows a message published after the filter was entered', async () => {
    const page = await openAt(server, '#/tap');
    await startTap(page, 'plant/+/level');
    await page.getByTestId('tap-status').filter({ hasText: 'watching plant/+/level' }).waitFor();
    const publisher = await client('plant-pub');
    await publisher.publishAsync('plant/other/flow', 'not shown', { qos: 1 });
    await publisher.publishAsync('plant/tank-3/level', '72%', { qos: 1 });
    const item = page.getByTestId('tap-list').locator('li', { hasText: 'plant/tank-3/level' });
    await item.waitFor();
    assert.match((await item.textContent()) ?? '', /72%/);
    assert.match((await item.textContent()) ?? '', /plant-pub/);
    assert.equal(await page.getByTestId('tap-list').locator('li').count(), 1);
    await screenshot(page, 'tap');
    // Leaving the page closes the stream: the broker stops listening.
    await page.getByRole('link', { name: 'Overview' }).click();
    await until(
      async () => server.tb.broker.listenerCount('published') === 0,
      'the tap closed in the broker',
    );
  });

  it('holds to the rate cap: of 500 messages at once, 50 are shown and 450 counted as dropped', async () => {
    const page = await openAt(frozen, '#/tap');
    await startTap(page, 'burst/#');
    await page.getByTestId('tap-status').filter({ hasText: 'watching burst/#' }).waitFor();
    await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        frozen.tb.broker.publish({ topic: `burst/${i}`, payload: String(i) }),
      ),
    );
    await until(
      async () => (await shownNumber(page, 'tap-dropped')) === 450,
      'the dropped count shown',
    );
    assert.equal(await shownNumber(page, 'tap-received'), 50);
    assert.equal(await page.getByTestId('tap-list').locator('li').count(), 50);
    assert.match(
      (await page.locator('.tap-counts').textContent()) ?? '',
      /at most 50 messages\/s are shown/,
    );
    await screenshot(page, 'tap-rate-cap');
  });

  it('refuses a read-only token, saying why', async () => {
    const page = await openAt(server, '#/tap', READ_TOKEN);
    await startTap(page, '#');
    await page
      .getByTestId('tap-status')
      .filter({ hasText: /refused: 403: token "viewer" is read-only/ })
      .waitFor();
    assert.equal(server.tb.broker.listenerCount('published'), 0);
  });
});
