/**
 * The admin HTTP API's tests share this: a real broker (with the test store) and its admin
 * route behind a plain `node:http` server on a free loopback port, dispatching by prefix as
 * the HTTP listener does; `fetch` calls with or without a bearer token. Token hashes are
 * cheap ones (`fastHash`: few PBKDF2 iterations, checked by the same code as any other).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdminRouteOptions, AdminToken } from '../../src/http/admin/index.js';
import { createAdminRoute } from '../../src/http/admin/index.js';
import type { HttpRoute } from '../../src/http/route.js';
import type { BrokerOptions } from '../../src/index.js';
import { fastHash } from '../config/fixtures.js';
import { startBroker, type TestBroker } from './broker.js';

/** A full token and a read-only one, as the tests configure them. */
export const FULL_TOKEN = 'full-token-for-tests';
export const READ_TOKEN = 'read-token-for-tests';

/** The tokens most tests configure: `ops` (full) and `viewer` (read). */
export function testTokens(): AdminToken[] {
  return [
    { name: 'ops', hash: fastHash(FULL_TOKEN), scope: 'full' },
    { name: 'viewer', hash: fastHash(READ_TOKEN), scope: 'read' },
  ];
}

/** Serves `routes` on a free loopback port, dispatching by prefix as the HTTP listener does. */
export async function serveRoutes(
  routes: readonly HttpRoute[],
): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = routes.find(
      (r) => url.pathname === r.prefix || url.pathname.startsWith(`${r.prefix}/`),
    );
    if (route === undefined) {
      res.writeHead(404).end();
      return;
    }
    Promise.resolve(route.handle(req, res, url)).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, base: `http://127.0.0.1:${port}` };
}

/** Parsed JSON, checked field by field by the tests (and against the document's schemas). */
// biome-ignore lint/suspicious/noExplicitAny: answers are untyped JSON the tests check
export type Json = any;

/** An answer of the API, its body parsed when it has one. */
export interface ApiAnswer {
  status: number;
  headers: Headers;
  /** The parsed JSON body; undefined for none. */
  body: Json;
}

/** Options of one call. */
export interface CallOptions {
  /** The bearer token; `null` sends no Authorization header. Default the full token. */
  token?: string | null;
  /** A JSON body (sent with Content-Type application/json), or raw text. */
  json?: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

/** A broker with its admin API served, and a way to call it. */
export interface AdminApiHarness {
  tb: TestBroker;
  base: string;
  call(method: string, path: string, options?: CallOptions): Promise<ApiAnswer>;
  close(): Promise<void>;
}

/** Calls the API at `base` (paths are under /api/v1). */
export async function callApi(
  base: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? FULL_TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined = options.raw;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${base}/api/v1${path}`, { method, headers, body });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? undefined : JSON.parse(text),
  };
}

/**
 * Starts a broker and its admin API. `api` options override the defaults (the test tokens);
 * `broker` options go to the broker.
 */
export async function startAdminApi(
  api: Partial<AdminRouteOptions> = {},
  broker: BrokerOptions = {},
): Promise<AdminApiHarness> {
  const tb = await startBroker(broker);
  const route = createAdminRoute({ broker: tb.broker, tokens: testTokens(), ...api });
  const { server, base } = await serveRoutes([route]);
  return {
    tb,
    base,
    call: (method, path, options) => callApi(base, method, path, options),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await tb.close();
    },
  };
}

/** Checks an answer is the problem `kind` with `status`, its detail matching `detail`. */
export function assertProblem(
  answer: ApiAnswer,
  status: number,
  kind: string,
  detail?: RegExp,
): void {
  assert.equal(answer.status, status, `status (body: ${JSON.stringify(answer.body)})`);
  assert.match(answer.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(answer.body.type, `urn:pipit:problem:${kind}`);
  assert.equal(answer.body.status, status);
  assert.equal(typeof answer.body.title, 'string');
  assert.equal(typeof answer.body.detail, 'string');
  if (detail !== undefined) assert.match(answer.body.detail, detail);
}

/** Every item of a list route, following nextCursor; also how many pages it took. */
export async function allApiPages(
  harness: Pick<AdminApiHarness, 'call'>,
  path: string,
  limit: number,
): Promise<{ items: Json[]; pages: number }> {
  const items: Json[] = [];
  let cursor: string | null = null;
  let pages = 0;
  const join = path.includes('?') ? '&' : '?';
  do {
    const query: string =
      cursor === null ? `limit=${limit}` : `limit=${limit}&cursor=${encodeURIComponent(cursor)}`;
    const answer = await harness.call('GET', `${path}${join}${query}`);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    items.push(...answer.body.items);
    cursor = answer.body.nextCursor;
    pages++;
    assert.ok(pages < 1000, 'the cursors end');
  } while (cursor !== null);
  return { items, pages };
}
