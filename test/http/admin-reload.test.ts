/**
 * `POST /api/v1/reload` on a broker started from configuration, as `pipit broker` builds its
 * admin API (src/cli/admin-route.ts): it does what SIGHUP does (one function serves both). A
 * changed password file is picked up (the old password refused, the new one accepted), the
 * connection of a user whose password changed is closed with DISCONNECT 0x98, and a broken
 * file is reported while its previous contents stay in force.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { afterEach, beforeEach, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { configuredAdminRoute } from '../../src/cli/admin-route.js';
import { silentLogger } from '../../src/ports/index.js';
import { type ConfiguredBroker, startConfigured } from '../config/configured-broker.js';
import { fastHash, passwordFileText, type TempDir, tempDir } from '../config/fixtures.js';
import {
  assertProblem,
  callApi,
  FULL_TOKEN,
  READ_TOKEN,
  serveRoutes,
} from '../helpers/admin-http.js';
import { connectClient, endClient } from '../helpers/broker.js';

let tmp: TempDir;
let server: ConfiguredBroker;
let http: Server;
let base: string;
let usersFile: string;

/** Resolves with the CONNACK reason code of a refused connection. */
function refusal(url: string, options: mqtt.IClientOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    client.once('connect', () => {
      client.end(true);
      reject(new Error('connection was accepted'));
    });
    client.once('error', (err: Error & { code?: number }) => {
      client.end(true);
      resolve(err.code ?? -1);
    });
  });
}

beforeEach(async () => {
  tmp = await tempDir();
  usersFile = await tmp.write('users.txt', passwordFileText({ alice: 'first', bob: 'bob-pw' }));
  const yaml = [
    'listeners:',
    '  - port: 0',
    'auth:',
    '  passwordFile: users.txt',
    'adminApi:',
    '  tokens:',
    `    - { name: ops, hash: '${fastHash(FULL_TOKEN)}' }`,
    `    - { name: viewer, scope: read, hash: '${fastHash(READ_TOKEN)}' }`,
  ].join('\n');
  server = await startConfigured(yaml, tmp.dir);
  ({ server: http, base } = await serveRoutes([
    configuredAdminRoute({ ...server, logger: silentLogger }),
  ]));
});

afterEach(async () => {
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  await server.close();
  await tmp.remove();
});

describe('admin API: POST /reload', () => {
  it('picks up a changed password file and closes the login it revoked with DISCONNECT 0x98', async () => {
    const url = server.urls[0]!;
    const alice = await connectClient(url, {
      username: 'alice',
      password: 'first',
      protocolVersion: 5,
    });
    const bob = await connectClient(url, {
      username: 'bob',
      password: 'bob-pw',
      protocolVersion: 5,
    });
    const reason = new Promise<number | undefined>((resolve) =>
      alice.once('disconnect', (packet) => resolve(packet.reasonCode)),
    );
    // Alice's password changes; Bob's line stays as it is (a new hash would revoke him too).
    const bobLine = (await readFile(usersFile, 'utf8'))
      .split('\n')
      .find((l) => l.startsWith('bob:'));
    await writeFile(usersFile, `${passwordFileText({ alice: 'second' })}${bobLine}\n`);
    const answer = await callApi(base, 'POST', '/reload');
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, {
      files: [{ path: usersFile, kind: 'password', ok: true, error: null, revoked: ['alice'] }],
      revokedConnections: 1,
      tls: { ok: true, error: null },
      adminTokens: null,
    });
    assert.equal(await reason, 0x98);
    assert.equal(
      await refusal(url, { username: 'alice', password: 'first', protocolVersion: 5 }),
      0x86,
    );
    await endClient(
      await connectClient(url, { username: 'alice', password: 'second', protocolVersion: 5 }),
    );
    assert.equal(bob.connected, true, 'an unchanged login stays');
    await endClient(alice, true);
    await endClient(bob);
  });

  it('a broken file is reported (ok: false, the error) and its previous contents stay', async () => {
    const url = server.urls[0]!;
    await writeFile(usersFile, 'not a password file\n');
    const answer = await callApi(base, 'POST', '/reload');
    assert.equal(answer.status, 200);
    const [file] = answer.body.files;
    assert.equal(file.ok, false);
    assert.match(file.error, /users\.txt:1: /);
    assert.deepEqual(file.revoked, []);
    assert.equal(answer.body.revokedConnections, 0);
    await endClient(
      await connectClient(url, { username: 'alice', password: 'first', protocolVersion: 4 }),
    );
  });

  it('needs a full token; the body-less route takes no query', async () => {
    assertProblem(await callApi(base, 'POST', '/reload', { token: READ_TOKEN }), 403, 'forbidden');
    assertProblem(
      await callApi(base, 'POST', '/reload?files=all'),
      400,
      'bad-request',
      /unknown query parameter "files": this route takes none/,
    );
  });
});
