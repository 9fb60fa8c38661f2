/**
 * The admin API's OpenAPI document: well-formed OpenAPI 3.1, and in step with the router. A
 * walk calls every documented operation on a broker started from configuration (so that
 * `POST /reload` is the real one) and checks that it answers its documented success status
 * with a body its documented schema accepts; every route of the router is documented, and
 * every method a path does not document is refused 405.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { configuredAdminRoute } from '../../src/cli/admin-route.js';
import { adminRoutes } from '../../src/http/admin/index.js';
import { silentLogger } from '../../src/ports/index.js';
import { type ConfiguredBroker, startConfigured } from '../config/configured-broker.js';
import { fastHash, type TempDir, tempDir } from '../config/fixtures.js';
import { callApi, FULL_TOKEN, type Json, READ_TOKEN, serveRoutes } from '../helpers/admin-http.js';
import { connectClient, endClient } from '../helpers/broker.js';
import { checkOpenApi31, validateValue } from '../helpers/openapi-check.js';
import { openSse } from '../helpers/sse.js';

/** Path parameters and bodies for each operation: things the fixture below creates. */
const CALLS: Record<string, { params?: Record<string, string>; body?: unknown; query?: string }> = {
  listClients: { query: 'limit=1' },
  getClient: { params: { clientId: 'walk/client' } },
  disconnectClient: { params: { clientId: 'walk-disconnect' }, body: { reasonCode: 0x98 } },
  listSessions: { query: 'connected=false' },
  getSession: { params: { clientId: 'walk-away' } },
  deleteSession: { params: { clientId: 'walk-delete' }, query: 'sendWill=false' },
  listSubscriptions: { query: 'clientId=walk%2Fclient' },
  listRetained: { query: 'filter=walk%2F%23' },
  getRetained: { params: { topic: 'walk/kept' } },
  deleteRetained: { params: { topic: 'walk/dropped' } },
  publish: { body: { topic: 'walk/published', payload: 'p', qos: 1 } },
  getCounters: {},
  reload: {},
  drain: {},
  listNodes: {},
  getRuntime: {},
  tap: { query: 'filter=walk%2F%23' },
};

let server: ConfiguredBroker;
let http: Server;
let base: string;
let tmp: TempDir;
const clients: MqttClient[] = [];
let doc: Json;

before(async () => {
  tmp = await tempDir();
  const yaml = [
    'listeners:',
    '  - port: 0',
    // Wrong tokens below: their back-off stays short, so the walk does not wait on it.
    'auth:',
    '  login: { failureDelay: 0.01, maxFailureDelay: 0.02 }',
    'adminApi:',
    '  tokens:',
    `    - { name: ops, hash: '${fastHash(FULL_TOKEN)}' }`,
    `    - { name: viewer, scope: read, hash: '${fastHash(READ_TOKEN)}' }`,
  ].join('\n');
  server = await startConfigured(yaml, tmp.dir);
  // A drain as a cluster node's (which this broker is not): its 202 is walked like the rest.
  const drain = { draining: () => false, begin: () => {} };
  const route = configuredAdminRoute({ ...server, logger: silentLogger, drain });
  ({ server: http, base } = await serveRoutes([route]));
  const url = server.urls[0]!;
  const persistent = {
    protocolVersion: 5,
    clean: false,
    properties: { sessionExpiryInterval: 600 },
  } as const;
  const client = await connectClient(url, { clientId: 'walk/client', ...persistent });
  await client.subscribeAsync('walk/#', { qos: 1 });
  clients.push(
    client,
    await connectClient(url, { clientId: 'walk-disconnect', protocolVersion: 5 }),
  );
  for (const id of ['walk-away', 'walk-delete'])
    await endClient(await connectClient(url, { clientId: id, ...persistent }));
  for (const topic of ['walk/kept', 'walk/dropped']) {
    await server.broker.publish({ topic, payload: topic, retain: true });
  }
  doc = (await callApi(base, 'GET', '/openapi.json', { token: null })).body;
});

after(async () => {
  for (const client of clients) await endClient(client, true);
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  await server.close();
  await tmp.remove();
});

/** Every documented operation but the document itself: [path, method, operation]. */
function operations(): [string, string, Json][] {
  return Object.entries(doc.paths as Json)
    .filter(([path]) => path !== '/openapi.json')
    .flatMap(([path, item]) =>
      Object.entries(item as Json).map(([m, op]) => [path, m, op] as [string, string, Json]),
    );
}

function concretePath(path: string, params: Record<string, string> = {}): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(params[name]!));
}

describe('admin API: the OpenAPI document', () => {
  it('is a well-formed OpenAPI 3.1 document', () => {
    assert.deepEqual(checkOpenApi31(doc), []);
    assert.deepEqual(doc.servers, [{ url: '/api/v1' }]);
    assert.equal(doc.info.title, 'Pipit admin API');
    assert.match(doc.info.version, /^\d+\.\d+\.\d+/);
  });

  it('documents every route of the router, and nothing else', () => {
    const documented = operations().map(([path, method]) => `${method.toUpperCase()} ${path}`);
    const routed = adminRoutes(0).map((r) => `${r.method} ${r.path}`);
    assert.deepEqual([...documented].sort(), [...routed].sort());
    assert.deepEqual(
      Object.keys(CALLS).sort(),
      operations()
        .map(([, , op]) => op.operationId)
        .sort(),
    );
  });

  it('every documented operation answers its success status with a body its schema accepts', async () => {
    for (const [path, method, op] of operations()) {
      const call = CALLS[op.operationId as string]!;
      const query = call.query === undefined ? '' : `?${call.query}`;
      if (op.responses['200']?.content?.['text/event-stream'] !== undefined) {
        // A stream never ends by itself: its first event shows it answered.
        const stream = await openSse(`${base}/api/v1${path}${query}`, FULL_TOKEN);
        assert.equal(stream.status, 200, `${method} ${path}`);
        await stream.next((e) => e.event === 'ready', `${path}: the ready event`);
        stream.close();
        continue;
      }
      const answer = await callApi(
        base,
        method.toUpperCase(),
        `${concretePath(path, call.params)}${query}`,
        {
          json: call.body,
        },
      );
      const what = `${method.toUpperCase()} ${path}`;
      const [status, response] = Object.entries(op.responses as Json).find(([s]) =>
        s.startsWith('2'),
      )!;
      assert.equal(answer.status, Number(status), `${what}: ${JSON.stringify(answer.body)}`);
      const schema = (response as Json).content?.['application/json']?.schema;
      if (schema === undefined) assert.equal(answer.body, undefined, `${what}: no content`);
      else assert.deepEqual(validateValue(doc, schema, answer.body), [], `${what}: the body fits`);
    }
  });

  it('no token or a wrong one: 401 on every operation, a documented Problem', async () => {
    const problem = doc.components.schemas.Problem;
    for (const [path, method, op] of operations()) {
      for (const token of [null, 'wrong-token']) {
        const what = `${method.toUpperCase()} ${path} with token ${token}`;
        const target = concretePath(path, { clientId: 'x', topic: 'x' });
        const answer = await callApi(base, method.toUpperCase(), target, { token });
        assert.equal(answer.status, 401, what);
        assert.ok('401' in (op.responses as Json), `${what} documents 401`);
        assert.deepEqual(validateValue(doc, problem, answer.body), [], what);
      }
    }
  });

  it('read-only tokens are refused exactly the operations documented with scope full', async () => {
    for (const [path, method, op] of operations()) {
      const answer = await callApi(
        base,
        method.toUpperCase(),
        concretePath(path, { clientId: 'x', topic: 'x/y' }),
        {
          token: READ_TOKEN,
        },
      );
      const what = `${method.toUpperCase()} ${path}`;
      if (op['x-pipit-scope'] === 'full') assert.equal(answer.status, 403, what);
      else assert.notEqual(answer.status, 403, what);
    }
  });

  it('a method a path does not document is refused 405 with the documented ones in Allow', async () => {
    for (const [path, item] of Object.entries(doc.paths as Json)) {
      if (path === '/openapi.json') continue;
      const methods = Object.keys(item as Json).map((m) => m.toUpperCase());
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
        if (methods.includes(method)) continue;
        const answer = await callApi(
          base,
          method,
          concretePath(path, { clientId: 'x', topic: 'x' }),
        );
        assert.equal(answer.status, 405, `${method} ${path}`);
        assert.deepEqual(answer.headers.get('allow')?.split(', ').sort(), [...methods].sort());
      }
    }
  });
});
