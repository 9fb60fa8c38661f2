/**
 * The dashboard's HTTP route on a real HTTP listener (`broker.listen({ type: 'http' })`),
 * over a folder laid out as `npm run build:dashboard` lays out dist/dashboard: the page at
 * `/`, hashed assets cached for a year, content types, gzip, ETag revalidation, no way out of
 * the folder, 404 and 405 problems, and 503 (saying to build it) when it is not built.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Broker, createBroker, createDashboardRoute } from '../../src/index.js';
import { assertProblem, rawHttp } from '../helpers/http.js';

const SCRIPT = `console.log(${JSON.stringify('pipit '.repeat(200))});\n`;
let root: string;
let broker: Broker;
let base: string;
let port: number;
let unbuilt: Broker;
let unbuiltBase: string;

async function serve(dir: string): Promise<{ broker: Broker; base: string; port: number }> {
  const b = createBroker();
  b.addHttpRoute(createDashboardRoute({ dir }));
  const address = await b.listen({ type: 'http', port: 0, host: '127.0.0.1' });
  return { broker: b, base: `http://127.0.0.1:${address.port}`, port: address.port };
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pipit-dashboard-route-'));
  const dir = join(root, 'dashboard');
  mkdirSync(join(dir, 'assets'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Pipit</title><div id="app">');
  writeFileSync(join(dir, 'assets', 'index-AbC_12-z.js'), SCRIPT);
  writeFileSync(join(dir, 'assets', 'index-Zy9_8x7w.css'), 'body{margin:0}');
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(root, 'secret.txt'), 'outside the dashboard folder');
  ({ broker, base, port } = await serve(dir));
  const other = await serve(join(root, 'not-built'));
  unbuilt = other.broker;
  unbuiltBase = other.base;
});

after(async () => {
  await broker.close();
  await unbuilt.close();
  rmSync(root, { recursive: true, force: true });
});

describe('the dashboard route', () => {
  it('serves the page at / with its content type, revalidated (no-cache, ETag) and a CSP', async () => {
    const res = await fetch(`${base}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.match(await res.text(), /<title>Pipit<\/title>/);
    const etag = res.headers.get('etag');
    assert.ok(etag);
    const again = await fetch(`${base}/`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
  });

  it('serves hashed assets cached for a year, gzipped to clients that accept it', async () => {
    const gz = await rawHttp(
      port,
      'GET /assets/index-AbC_12-z.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, br\r\nConnection: close\r\n\r\n',
    );
    assert.match(gz, /^HTTP\/1\.1 200/);
    assert.match(gz, /content-encoding: gzip/i);
    assert.match(gz, /cache-control: public, max-age=31536000, immutable/i);
    assert.match(gz, /content-type: text\/javascript; charset=utf-8/i);
    const length = Number(/content-length: (\d+)/i.exec(gz)![1]);
    assert.ok(length < SCRIPT.length / 4, `gzipped ${length} bytes of ${SCRIPT.length}`);
    const plain = await fetch(`${base}/assets/index-AbC_12-z.js`, {
      headers: { 'accept-encoding': 'identity' },
    });
    assert.equal(plain.headers.get('content-encoding'), null);
    assert.equal(await plain.text(), SCRIPT);
    const css = await fetch(`${base}/assets/index-Zy9_8x7w.css`);
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
    const svg = await fetch(`${base}/favicon.svg`);
    assert.equal(svg.headers.get('content-type'), 'image/svg+xml');
    assert.equal(svg.headers.get('cache-control'), 'no-cache', 'not hashed: revalidated');
  });

  it('answers HEAD without a body, refuses other methods 405 with Allow (404 where nothing is)', async () => {
    const head = await fetch(`${base}/`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    const post = await fetch(`${base}/`, { method: 'POST' });
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    await assertProblem(post, 405, /POST is not supported here; use GET or HEAD/);
    // A path that serves nothing is a 404 whatever the method.
    await assertProblem(await fetch(`${base}/nope`, { method: 'POST' }), 404, /nothing is served/);
  });

  it('serves nothing outside its folder, whatever the encoding of the path', async () => {
    for (const target of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
    ]) {
      const answer = await rawHttp(
        port,
        `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assert.match(answer, /^HTTP\/1\.1 404/, target);
      assert.doesNotMatch(answer, /outside the dashboard folder/, target);
    }
    const doubleSlash = await rawHttp(
      port,
      'GET //secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    assert.doesNotMatch(doubleSlash, /outside the dashboard folder/);
  });

  it('answers an unknown path 404 with a problem naming where the dashboard and the API are', async () => {
    await assertProblem(
      await fetch(`${base}/clients`),
      404,
      /nothing is served at \/clients; the dashboard is at \/ and the admin API at \/api\/v1/,
    );
    // The listener's own routes still win over the root.
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });

  it('answers / with 503 and says to run npm run build when the dashboard is not built', async () => {
    const res = await fetch(`${unbuiltBase}/`);
    assert.equal(res.headers.get('retry-after'), '60');
    await assertProblem(res, 503, /the dashboard is not built: run `npm run build`/);
    await assertProblem(await fetch(`${unbuiltBase}/assets/x.js`), 404, /nothing is served/);
  });
});
