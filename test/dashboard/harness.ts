/**
 * What the dashboard's browser tests share: the built dashboard (built first when missing or
 * older than its sources, as `npm start` rebuilds a stale dist), a real broker with an MQTT
 * listener, an HTTP listener serving the admin API and the dashboard, and a headless Debian
 * Chromium driven by playwright-core. Screenshots go to docs/dashboard/.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { AdminRouteOptions } from '../../src/http/admin/index.js';
import { type BrokerOptions, createAdminRoute, createDashboardRoute } from '../../src/index.js';
import { packageVersion } from '../../src/ops/index.js';
import { testTokens } from '../helpers/admin-http.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where the screenshots of docs/dashboard.md are written. */
export const SCREENSHOTS = join(root, 'docs', 'dashboard');

/** Builds dist/dashboard unless it is up to date (throws with the build's output). */
export function ensureDashboardBuilt(): void {
  const result = spawnSync(
    process.execPath,
    [join(root, 'scripts', 'build-dashboard.mjs'), '--if-stale'],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) {
    throw new Error(`building the dashboard failed:\n${result.stdout}\n${result.stderr}`);
  }
}

/** A broker serving the dashboard. */
export interface DashboardBroker {
  tb: TestBroker;
  /** The HTTP listener's base URL, e.g. http://127.0.0.1:41234. */
  base: string;
  close(): Promise<void>;
}

/**
 * Starts a broker (`broker` options) with MQTT and HTTP listeners, the admin API (the test
 * tokens, `api` options) and the dashboard.
 */
export async function startDashboardBroker(
  api: Partial<AdminRouteOptions> = {},
  broker: BrokerOptions = {},
): Promise<DashboardBroker> {
  const tb = await startBroker(broker);
  tb.broker.addHttpRoute(
    createAdminRoute({
      broker: tb.broker,
      tokens: testTokens(),
      node: { version: packageVersion() },
      ...api,
    }),
  );
  tb.broker.addHttpRoute(createDashboardRoute());
  const http = await tb.broker.listen({ type: 'http', port: 0, host: '127.0.0.1' });
  return { tb, base: `http://127.0.0.1:${http.port}`, close: () => tb.close() };
}

/** Launches the Debian Chromium, headless (never a downloaded browser). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true });
}

/** Opens the dashboard and logs in with `token`; resolves once the overview shows. */
export async function logIn(page: Page, base: string, token: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('link', { name: 'Overview' }).waitFor();
}

/** Saves a screenshot of the page as docs/dashboard/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** The number shown in the element with `data-testid="<id>"` (digits only, commas dropped). */
export async function shownNumber(page: Page, id: string): Promise<number> {
  const text = await page.getByTestId(id).textContent();
  return Number((text ?? '').replaceAll(',', ''));
}

/** Waits until `predicate` holds, polling (a deadline only as a safety net). */
export async function until(
  predicate: () => Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
