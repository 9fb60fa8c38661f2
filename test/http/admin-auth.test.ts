/**
 * Bearer tokens of the admin API over real HTTP: no token configured, a missing, malformed
 * or wrong token, a read-only token on a write, throttling after failures, and a flood of
 * wrong tokens that does not keep a known token out. The OpenAPI document needs no token.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { makeToken } from '../../src/cli/token-command.js';
import { LoginGuard } from '../../src/hooks/index.js';
import { createAdminRoute } from '../../src/http/admin/index.js';
import { createBroker } from '../../src/index.js';
import { fastHash } from '../config/fixtures.js';
import {
  type AdminApiHarness,
  assertProblem,
  callApi,
  FULL_TOKEN,
  READ_TOKEN,
  startAdminApi,
} from '../helpers/admin-http.js';
import { waitFor } from '../helpers/broker.js';

let harness: AdminApiHarness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(...args: Parameters<typeof startAdminApi>): Promise<AdminApiHarness> {
  harness = await startAdminApi(...args);
  return harness;
}

describe('admin API: bearer tokens', () => {
  it('with no token configured, every route is refused with 403 saying so', async () => {
    const api = await start({ tokens: [] });
    for (const [method, path] of [
      ['GET', '/clients'],
      ['POST', '/publish'],
      ['GET', '/counters'],
    ] as const) {
      const answer = await api.call(method, path);
      assertProblem(answer, 403, 'no-token-configured', /no token configured.*adminApi\.tokens/);
    }
  });

  it('no Authorization header: 401 with WWW-Authenticate: Bearer', async () => {
    const api = await start();
    const answer = await api.call('GET', '/clients', { token: null });
    assertProblem(answer, 401, 'unauthorized', /no bearer token/);
    assert.equal(answer.headers.get('www-authenticate'), 'Bearer realm="pipit"');
  });

  it('a malformed Authorization header: 401 invalid_request', async () => {
    const api = await start();
    for (const authorization of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer two words']) {
      const answer = await api.call('GET', '/clients', {
        token: null,
        headers: { authorization },
      });
      assertProblem(answer, 401, 'unauthorized', /malformed Authorization header/);
      assert.equal(
        answer.headers.get('www-authenticate'),
        'Bearer realm="pipit", error="invalid_request"',
      );
    }
  });

  it('a wrong token: 401 invalid_token, and the route is not run', async () => {
    const api = await start();
    const answer = await api.call('POST', '/publish', {
      token: 'not-a-configured-token',
      json: { topic: 'never/published' },
    });
    assertProblem(answer, 401, 'unauthorized', /matches no configured token/);
    assert.equal(
      answer.headers.get('www-authenticate'),
      'Bearer realm="pipit", error="invalid_token"',
    );
    const counters = await api.call('GET', '/counters');
    assert.equal(counters.body.messagesReceived, 0, 'nothing was published');
  });

  it('the scheme is case-insensitive (RFC 7235)', async () => {
    const api = await start();
    const answer = await api.call('GET', '/counters', {
      token: null,
      headers: { authorization: `bearer ${FULL_TOKEN}` },
    });
    assert.equal(answer.status, 200);
  });

  it('a read-only token reads, and is refused every write with 403 insufficient_scope', async () => {
    const api = await start();
    assert.equal((await api.call('GET', '/clients', { token: READ_TOKEN })).status, 200);
    assert.equal((await api.call('GET', '/counters', { token: READ_TOKEN })).status, 200);
    const writes = [
      ['POST', '/clients/someone/disconnect'],
      ['DELETE', '/sessions/someone'],
      ['DELETE', '/retained/some/topic'],
      ['POST', '/publish'],
      ['POST', '/reload'],
    ] as const;
    for (const [method, path] of writes) {
      const answer = await api.call(method, path, { token: READ_TOKEN, json: { topic: 't' } });
      assertProblem(answer, 403, 'forbidden', /token "viewer" is read-only/);
      assert.equal(
        answer.headers.get('www-authenticate'),
        'Bearer realm="pipit", error="insufficient_scope"',
      );
    }
  });

  it('the OpenAPI document is served without a token, even with none configured', async () => {
    const api = await start({ tokens: [] });
    const answer = await api.call('GET', '/openapi.json', { token: null });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.openapi, '3.1.0');
  });

  it('a token made by `pipit token` (full-cost hash) is accepted, the next time from the cache', async () => {
    const made = await makeToken({ name: 'cli', scope: 'full' });
    const guard = new LoginGuard();
    const api = await start({ tokens: [{ name: made.name, hash: made.hash }], guard });
    assert.equal((await api.call('GET', '/counters', { token: made.token })).status, 200);
    assert.equal((await api.call('GET', '/counters', { token: made.token })).status, 200);
    assert.equal(guard.stats.hashed, 1, 'hashed once');
    assert.equal(guard.stats.cacheHits, 1, 'then answered from the cache');
  });

  it('an address that keeps sending wrong tokens backs off: 429 with Retry-After, unhashed', async () => {
    const guard = new LoginGuard({ addressLimitsOnLoopback: true, freeFailures: 2 });
    const api = await start({ guard });
    for (let i = 0; i < 2; i++) {
      assertProblem(
        await api.call('GET', '/clients', { token: `wrong-${i}` }),
        401,
        'unauthorized',
      );
    }
    const hashed = guard.stats.hashed;
    const answer = await api.call('GET', '/clients', { token: 'wrong-again' });
    assertProblem(answer, 429, 'too-many-attempts', /too many wrong tokens from this address/);
    assert.match(answer.headers.get('retry-after') ?? '', /^[1-9][0-9]*$/);
    assert.equal(guard.stats.hashed, hashed, 'the throttled token was not hashed');
  });

  it('a flood of wrong tokens is queued or refused 503, and a known token is answered meanwhile', async () => {
    // Wrong tokens soon close the token gate: one check at a time, 200 ms apart, four waiting.
    const guard = new LoginGuard({
      maxConcurrentHashes: 1,
      maxQueuedLogins: 8,
      failureDelayMs: 200,
    });
    const api = await start({ guard });
    assert.equal((await api.call('GET', '/counters')).status, 200, 'the known token, cached');
    const flood = Array.from({ length: 40 }, (_, i) =>
      callApi(api.base, 'GET', '/clients', { token: `flood-${i}` }),
    );
    await waitFor(() => guard.pending.queued > 0, 5000, 'wrong tokens waiting for a check');
    const known = await api.call('GET', '/counters');
    assert.equal(known.status, 200);
    assert.ok(guard.pending.queued + guard.pending.running > 0, 'wrong tokens still wait');
    const answers = await Promise.all(flood);
    const statuses = new Set(answers.map((a) => a.status));
    assert.deepEqual([...statuses].sort(), [401, 503]);
    const busy = answers.find((a) => a.status === 503)!;
    assertProblem(busy, 503, 'busy', /too many token checks are waiting/);
    assert.equal(busy.headers.get('retry-after'), '1');
    for (const answer of answers)
      if (answer.status === 401) assertProblem(answer, 401, 'unauthorized');
  });

  it('a token whose hash is not a password hash is refused when the route is made', async () => {
    const broker = createBroker();
    try {
      assert.throws(
        () => createAdminRoute({ broker, tokens: [{ name: 'typo', hash: 'plain-secret' }] }),
        (err: Error) =>
          /admin API token "typo": the hash is not a supported password hash/.test(err.message) &&
          !err.message.includes('plain-secret'),
      );
    } finally {
      await broker.close();
    }
  });

  it('several tokens: each is recognized by its own hash', async () => {
    const api = await start({
      tokens: [
        { name: 'first', hash: fastHash('token-one'), scope: 'read' },
        { name: 'second', hash: fastHash('token-two') },
      ],
    });
    assert.equal((await api.call('GET', '/counters', { token: 'token-one' })).status, 200);
    const write = await api.call('POST', '/publish', { token: 'token-two', json: { topic: 'x' } });
    assert.equal(write.status, 200, 'the second token has scope full by default');
    assertProblem(
      await api.call('POST', '/publish', { token: 'token-one', json: { topic: 'x' } }),
      403,
      'forbidden',
      /token "first" is read-only/,
    );
  });
});
