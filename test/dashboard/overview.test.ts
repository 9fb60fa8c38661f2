/**
 * The dashboard in a real browser (Debian Chromium, headless), against a real broker: logging
 * in (and the page's weight on first load), a wrong token refused, the overview's charts
 * moving while a client publishes, and the overview on a phone-sized screen. Screenshots of
 * the login form and the overview go to docs/dashboard/.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { SqliteStore } from '../../src/storage/index.js';
import { FULL_TOKEN } from '../helpers/admin-http.js';
import { connectClient, endClient } from '../helpers/broker.js';
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

/** The most the page may weigh on first load, gzipped (issue #13). */
const MAX_PAGE_BYTES = 200 * 1024;

/** Evaluated in the page: the token the dashboard keeps in sessionStorage. */
const STORED_TOKEN = "sessionStorage.getItem('pipit.token')";

let server: DashboardBroker;
let dataDir: string;
let browser: Browser;
const pages: Page[] = [];

before(async () => {
  ensureDashboardBuilt();
  // A SQLite store: its commits are timed, and the overview charts their latency.
  dataDir = mkdtempSync(join(tmpdir(), 'pipit-dashboard-overview-'));
  server = await startDashboardBroker({}, { store: new SqliteStore({ dataDir }) });
  browser = await launchChromium();
});

after(async () => {
  for (const page of pages) await page.close();
  await browser?.close();
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function newPage(viewport = { width: 1280, height: 900 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  pages.push(page);
  return page;
}

describe('dashboard: logging in and the overview', () => {
  it('first load weighs under 200 KB gzipped, then a full token logs in to the overview', async (t) => {
    const page = await newPage();
    const finished: Promise<number>[] = [];
    const encodings = new Map<string, string | undefined>();
    page.on('requestfinished', (request) => {
      finished.push(request.sizes().then((s) => s.responseBodySize + s.responseHeadersSize));
    });
    page.on('response', (response) => {
      encodings.set(new URL(response.url()).pathname, response.headers()['content-encoding']);
    });
    await page.goto(`${server.base}/`, { waitUntil: 'networkidle' });
    await page.getByLabel('Token').waitFor();
    const weight = (await Promise.all(finished)).reduce((a, b) => a + b, 0);
    t.diagnostic(`first load: ${finished.length} responses, ${weight} bytes transferred`);
    assert.ok(finished.length >= 3, 'the page, its script and its stylesheet');
    assert.ok(weight < MAX_PAGE_BYTES, `the page weighs ${weight} bytes`);
    const scripts = [...encodings].filter(([path]) => path.endsWith('.js'));
    assert.ok(scripts.length > 0);
    for (const [path, encoding] of scripts) assert.equal(encoding, 'gzip', path);
    await screenshot(page, 'login');
    await page.getByLabel('Token').fill(FULL_TOKEN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('link', { name: 'Overview' }).waitFor();
    const stored = await page.evaluate(STORED_TOKEN);
    assert.equal(stored, FULL_TOKEN);
    await until(async () => (await page.getByTestId('version').textContent()) !== '…', 'version');
    assert.match((await page.getByTestId('version').textContent()) ?? '', /^\d+\.\d+\.\d+|unknown/);
  });

  it('a wrong token is refused, saying why, and nothing is stored', async () => {
    const page = await newPage();
    await page.goto(`${server.base}/`);
    await page.getByLabel('Token').fill('not-the-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(
      (await alert.textContent()) ?? '',
      /Refused: the bearer token matches no configured token \(HTTP 401\)/,
    );
    assert.equal(await page.evaluate(STORED_TOKEN), null);
    assert.equal(await page.getByRole('link', { name: 'Overview' }).count(), 0);
    await screenshot(page, 'login-refused');
  });

  it('the overview charts (messages, store commit latency) move while a client publishes', async () => {
    const page = await newPage();
    await logIn(page, server.base, FULL_TOKEN);
    const client = await connectClient(server.tb.url, { clientId: 'overview-pub' });
    await until(async () => (await shownNumber(page, 'connections')) === 1, 'one client shown');
    const before = await shownNumber(page, 'messages-in');
    // Publish until the page shows it: the chart's last rate above zero, the counter higher.
    let publishing = true;
    const pump = (async () => {
      let i = 0;
      while (publishing) {
        // Retained: each one is a write the store commits.
        await client.publishAsync('overview/load', String(i++), { qos: 1, retain: true });
      }
    })();
    try {
      await until(async () => {
        const last = await page.locator('[data-chart="messages"]').getAttribute('data-last');
        const inQos1 = Number((last ?? '').split(',')[1]);
        const commits = await page.locator('[data-chart="commits"]').getAttribute('data-last');
        const batchMs = Number((commits ?? '').split(',')[0]);
        return inQos1 > 0 && batchMs > 0 && (await shownNumber(page, 'messages-in')) > before;
      }, 'the messages and commit latency charts and the counter moving');
    } finally {
      publishing = false;
      await pump;
    }
    const points = Number(
      await page.locator('[data-chart="messages"]').getAttribute('data-points'),
    );
    assert.ok(points >= 1, 'the chart has data points');
    await screenshot(page, 'overview');
    await endClient(client);
  });

  it('fits a phone-sized screen: the overview scrolls only vertically', async () => {
    const page = await newPage({ width: 375, height: 740 });
    await logIn(page, server.base, FULL_TOKEN);
    // Some points in the charts, so that the screenshot shows them laid out.
    const chart = page.locator('[data-chart="messages"]');
    await until(async () => Number(await chart.getAttribute('data-points')) >= 5, 'five points');
    const widths = (await page.evaluate(
      '({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })',
    )) as { scroll: number; client: number };
    assert.ok(widths.scroll <= widths.client, `scrollWidth ${widths.scroll} > ${widths.client}`);
    await screenshot(page, 'overview-phone');
  });
});
