/**
 * The admin API's tokens are reread from the configuration file on a reload: `POST
 * /api/v1/reload` on a broker built as `pipit broker` builds it (src/cli/admin-route.ts),
 * and SIGHUP to the real `pipit broker`. A removed token is refused from then on (also one
 * accepted, and so cached, before), a new one is accepted, and a file that no longer loads
 * keeps the tokens in force and says why.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { configuredAdminApi } from '../../src/cli/admin-route.js';
import { silentLogger } from '../../src/ports/index.js';
import { type ConfiguredBroker, startConfigured } from '../config/configured-broker.js';
import { fastHash, type TempDir, tempDir } from '../config/fixtures.js';
import { BrokerProcess, freePort } from '../durability/harness.js';
import { assertProblem, callApi, serveRoutes } from '../helpers/admin-http.js';
import { waitFor } from '../helpers/broker.js';

const OLD = 'old-token-for-tests';
const NEW = 'new-token-for-tests';

/** Configuration text with an MQTT listener, `extra` lines, and these tokens (name, token). */
function configText(tokens: [string, string][], extra: string[] = []): string {
  return [
    'listeners:',
    '  - port: 0',
    ...extra,
    'adminApi:',
    '  tokens:',
    ...tokens.map(([name, token]) => `    - { name: ${name}, hash: '${fastHash(token)}' }`),
    '',
  ].join('\n');
}

let tmp: TempDir | undefined;
let configured: ConfiguredBroker | undefined;
let http: Server | undefined;
let proc: BrokerProcess | undefined;

afterEach(async () => {
  http?.closeAllConnections();
  if (http) await new Promise<void>((resolve) => http!.close(() => resolve()));
  await configured?.close();
  await proc?.stop();
  await tmp?.remove();
  [tmp, configured, http, proc] = [undefined, undefined, undefined, undefined];
});

describe('admin API tokens: reloaded from the configuration file', () => {
  it('POST /reload: a removed token is refused from then on, a new one works', async () => {
    tmp = await tempDir();
    const text = configText([['old', OLD]]);
    const file = await tmp.write('pipit.yaml', text);
    configured = await startConfigured(text, tmp.dir);
    const api = configuredAdminApi({ ...configured, logger: silentLogger, configFile: file });
    let base: string;
    ({ server: http, base } = await serveRoutes([api.route]));
    assert.equal((await callApi(base, 'GET', '/counters', { token: OLD })).status, 200);
    assertProblem(await callApi(base, 'GET', '/counters', { token: NEW }), 401, 'unauthorized');
    await writeFile(file, configText([['new', NEW]]));
    const answer = await callApi(base, 'POST', '/reload', { token: OLD });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body.adminTokens, { ok: true, error: null, tokens: ['new'] });
    // The old token was accepted (and cached) before: refused now all the same.
    assertProblem(
      await callApi(base, 'GET', '/counters', { token: OLD }),
      401,
      'unauthorized',
      /matches no configured token/,
    );
    assert.equal((await callApi(base, 'GET', '/counters', { token: NEW })).status, 200);
  });

  it('a configuration file that no longer loads keeps the tokens in force and says why', async () => {
    tmp = await tempDir();
    const text = configText([['old', OLD]]);
    const file = await tmp.write('pipit.yaml', text);
    configured = await startConfigured(text, tmp.dir);
    const api = configuredAdminApi({ ...configured, logger: silentLogger, configFile: file });
    let base: string;
    ({ server: http, base } = await serveRoutes([api.route]));
    await writeFile(file, `${configText([['new', NEW]])}  surprise: true\n`);
    const answer = await callApi(base, 'POST', '/reload', { token: OLD });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.adminTokens.ok, false);
    assert.match(answer.body.adminTokens.error, /adminApi\.surprise/);
    assert.deepEqual(answer.body.adminTokens.tokens, ['old']);
    assert.equal((await callApi(base, 'GET', '/counters', { token: OLD })).status, 200);
    assertProblem(await callApi(base, 'GET', '/counters', { token: NEW }), 401, 'unauthorized');
    // A hash that is not one is refused by the schema without showing it.
    await writeFile(
      file,
      configText([]).replace('  tokens:\n', "  tokens:\n    - { name: x, hash: 'plain' }\n"),
    );
    const bad = await api.reload('test');
    assert.equal(bad.adminTokens?.ok, false);
    assert.doesNotMatch(bad.adminTokens?.error ?? '', /plain/);
  });

  it('SIGHUP to pipit broker rereads the tokens', async () => {
    tmp = await tempDir();
    const httpPort = await freePort();
    const extra = ['  - type: http', `    port: ${httpPort}`];
    const file = join(tmp.dir, 'pipit.yaml');
    await writeFile(file, configText([['old', OLD]], extra));
    proc = BrokerProcess.spawn(['-c', file, '--memory']);
    await proc.waitForOutput('running');
    const base = `http://127.0.0.1:${httpPort}/api/v1`;
    const status = async (token: string): Promise<number> =>
      (await fetch(`${base}/counters`, { headers: { authorization: `Bearer ${token}` } })).status;
    assert.equal(await status(OLD), 200);
    assert.equal(await status(NEW), 401);
    await writeFile(file, configText([['new', NEW]], extra));
    proc.child.kill('SIGHUP');
    await proc.waitForOutput('SIGHUP: admin API tokens reloaded');
    assert.match(proc.output, /"added":\["new"\],"removed":\["old"\]/);
    await waitFor(async () => (await status(NEW)) === 200);
    assert.equal(await status(OLD), 401);
  });
});
