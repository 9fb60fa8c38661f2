import assert from 'node:assert/strict';
import { get } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { startHttpListener } from '../../src/http/http-listener.js';
import { checkMethod, HttpProblem } from '../../src/http/problem.js';
import type { HttpRoute } from '../../src/http/route.js';
import { createBroker } from '../../src/index.js';
import type { Listener } from '../../src/transport/listener.js';
import { makeTestCerts } from '../helpers/certs.js';
import { assertProblem, rawHttp, recordingLogger } from '../helpers/http.js';

/** Routes that answer what they were asked, for dispatch tests. */
function echoRoutes(): HttpRoute[] {
  const echo = (prefix: string): HttpRoute => ({
    prefix,
    async handle(req, res, url) {
      checkMethod(req, ['GET', 'POST']);
      let body = '';
      for await (const chunk of req) body += chunk;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ route: prefix, path: url.pathname, body }));
    },
  });
  return [
    echo('/a'),
    echo('/a/b'),
    {
      prefix: '/broken',
      handle() {
        throw new Error('the route broke');
      },
    },
    {
      prefix: '/teapot',
      handle() {
        throw new HttpProblem(418, 'short and stout');
      },
    },
  ];
}

describe('HTTP listener', () => {
  const logger = recordingLogger();
  let listener: Listener;
  let base: string;

  before(async () => {
    listener = await startHttpListener(
      { port: 0, maxBodyBytes: 16, requestTimeoutMs: 300 },
      echoRoutes(),
      logger,
    );
    base = listener.address.url;
  });
  after(() => listener.close());

  it('binds to 127.0.0.1 by default and reports an http:// address', () => {
    assert.equal(listener.address.protocol, 'http');
    assert.equal(listener.address.host, '127.0.0.1');
    assert.equal(listener.name, 'http');
    assert.ok(listener.address.port > 0);
    assert.equal(base, `http://127.0.0.1:${listener.address.port}`);
  });

  it('dispatches by path prefix, whole segments only, the longest prefix first', async () => {
    const seen = async (path: string) =>
      ((await (await fetch(base + path)).json()) as { route: string }).route;
    assert.equal(await seen('/a'), '/a');
    assert.equal(await seen('/a/x?q=1'), '/a');
    assert.equal(await seen('/a/b'), '/a/b');
    assert.equal(await seen('/a/b/c'), '/a/b');
    await assertProblem(
      await fetch(`${base}/ab`),
      404,
      /nothing is served at \/ab; this listener serves \/a, \/a\/b/,
    );
  });

  it('answers 404 with a problem document for a path no route serves', async () => {
    await assertProblem(await fetch(`${base}/nowhere`), 404, /nothing is served at \/nowhere/);
  });

  it('answers 405 with Allow for a method the route does not take', async () => {
    const res = await fetch(`${base}/a`, { method: 'DELETE' });
    assert.equal(res.headers.get('allow'), 'GET, POST, HEAD');
    await assertProblem(res, 405, /DELETE is not supported here; use GET or POST or HEAD/);
  });

  it('passes a body within the cap to the route', async () => {
    const res = await fetch(`${base}/a`, { method: 'POST', body: '0123456789abcdef' });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { body: string }).body, '0123456789abcdef');
  });

  it('answers 413 for a body over maxBodyBytes, before the route reads it', async () => {
    const res = await fetch(`${base}/a`, { method: 'POST', body: '0123456789abcdefX' });
    await assertProblem(res, 413, /17 bytes; this listener accepts at most 16 \(maxBodySize\)/);
  });

  it('answers 411 for a chunked body (a body must announce its length)', async () => {
    const answer = await rawHttp(
      listener.address.port,
      'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    );
    assert.match(answer, /^HTTP\/1\.1 411 Length Required/);
    assert.match(answer, /needs a Content-Length header/);
  });

  it('answers a problem a route throws with its status', async () => {
    await assertProblem(await fetch(`${base}/teapot`), 418, /short and stout/);
  });

  it('answers 500 for a route that throws, logs the error, and keeps serving', async () => {
    await assertProblem(await fetch(`${base}/broken`), 500, /the broker log has the error/);
    const line = logger.lines.find((l) => l.message === 'HTTP request failed in its route');
    assert.ok(line, 'an error line was logged');
    assert.equal(line.level, 'error');
    assert.equal(line.fields.path, '/broken');
    assert.equal((line.fields.err as Error).message, 'the route broke');
    assert.equal((await fetch(`${base}/a`)).status, 200);
  });

  it('answers 408 to a client that does not finish its request in time, and closes', async () => {
    const answer = await rawHttp(listener.address.port, 'GET /a HTTP/1.1\r\nHost: x\r\n');
    assert.match(answer, /^HTTP\/1\.1 408 Request Timeout/);
    assert.match(answer, /requestTimeout/);
  });

  it('answers 400 to a request that is not HTTP', async () => {
    const answer = await rawHttp(listener.address.port, 'HELLO THERE\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 400 Bad Request/);
  });

  it('sends no body for HEAD', async () => {
    const res = await fetch(`${base}/nowhere`, { method: 'HEAD' });
    assert.equal(res.status, 404);
    assert.equal(await res.text(), '');
  });
});

describe('HTTP listener: closing', () => {
  it('stops accepting, and ends idle keep-alive connections', async () => {
    const listener = await startHttpListener({ port: 0 }, echoRoutes(), recordingLogger());
    const url = `${listener.address.url}/a`;
    assert.equal((await fetch(url)).status, 200); // leaves a keep-alive connection open
    await listener.close();
    await assert.rejects(fetch(url), TypeError);
  });
});

/** GET over HTTPS trusting `ca`; resolves with the status and the body. */
function httpsGet(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('HTTPS listener', () => {
  it('serves the routes over TLS with the configured certificate', async () => {
    const certs = makeTestCerts();
    const tls = { cert: certs.server.cert, key: certs.server.key };
    const listener = await startHttpListener({ port: 0, tls }, echoRoutes(), recordingLogger());
    try {
      assert.equal(listener.address.protocol, 'https');
      assert.equal(listener.name, 'https');
      const { status, body } = await httpsGet(`${listener.address.url}/a/b`, certs.ca.certPem);
      assert.equal(status, 200);
      assert.equal(JSON.parse(body).route, '/a/b');
      await listener.reloadTls?.();
      assert.equal((await httpsGet(`${listener.address.url}/a`, certs.ca.certPem)).status, 200);
    } finally {
      await listener.close();
      certs.cleanup();
    }
  });

  it('broker.listen({ type: "https" }) serves /healthz over TLS', async () => {
    const certs = makeTestCerts();
    const broker = createBroker();
    try {
      const tls = { cert: certs.server.cert, key: certs.server.key };
      const address = await broker.listen({ type: 'https', port: 0, tls });
      assert.equal(address.protocol, 'https');
      const { status, body } = await httpsGet(`${address.url}/healthz`, certs.ca.certPem);
      assert.equal(status, 200);
      assert.deepEqual(JSON.parse(body), { status: 'alive' });
    } finally {
      await broker.close();
      certs.cleanup();
    }
  });
});
