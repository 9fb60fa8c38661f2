/**
 * A password file reload (SIGHUP) closes the open connections whose login it revoked: the
 * user was removed, or their password changed. MQTT 5 clients get DISCONNECT 0x98
 * (Administrative action), MQTT 3.1.1 connections are closed; their wills are not sent.
 * Exact bytes over raw sockets, wired as `pipit broker` does it (closeRevokedLogins).
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { closeRevokedLogins, revokedLogins } from '../../src/config/index.js';
import type { ClientInfo } from '../../src/core/index.js';
import { silentLogger } from '../../src/ports/index.js';
import type { ProtocolVersion } from '../../src/protocol/index.js';
import { type ConfiguredBroker, startConfigured } from '../config/configured-broker.js';
import { passwordFileText, type TempDir, tempDir } from '../config/fixtures.js';
import { connectBytes, RawClient } from '../helpers/raw-client.js';

const CONFIG = `
listeners:
  - name: secured
    auth:
      passwordFile: users.txt
  - name: open
    port: 1884
    auth:
      allowAnonymous: true
`;

describe('a reload closes revoked logins', () => {
  let tmp: TempDir;
  let server: ConfiguredBroker;
  let port: number;
  let openPort: number;

  /** A raw client logged in as `username` (password `<username>-pw`), with a will. */
  async function login(username: string, version: ProtocolVersion): Promise<RawClient> {
    const client = await RawClient.open(port, version);
    client.write(
      connectBytes(version, `${username}-${version}`, {
        username,
        password: Buffer.from(`${username}-pw`),
        will: { topic: `wills/${username}`, payload: Buffer.from('gone'), qos: 0, retain: false },
      }),
    );
    assert.equal((await client.next('connack')).reasonCode, 0);
    return client;
  }

  before(async () => {
    tmp = await tempDir();
    await tmp.write(
      'users.txt',
      passwordFileText({ alice: 'alice-pw', bob: 'bob-pw', carol: 'carol-pw', dave: 'dave-pw' }),
    );
    server = await startConfigured(CONFIG, tmp.dir);
    [port, openPort] = server.urls.map((url) => Number(new URL(url).port));
  });
  after(async () => {
    await server.close();
    await tmp.remove();
  });

  it('removed (v5: DISCONNECT 0x98, v3: close) or re-passworded users are closed; the rest stay; no wills', async () => {
    const alice5 = await login('alice', 5);
    const alice4 = await login('alice', 4);
    const bob5 = await login('bob', 5);
    const carol5 = await login('carol', 5);
    const watcher = await RawClient.connected(openPort, 5, 'will-watcher');
    watcher.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { filter: 'wills/#', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    await watcher.next('suback');
    // The open listener lets anyone claim "alice": not a password login, not closed.
    const claimed = await RawClient.connected(openPort, 5, 'claims-alice', { username: 'alice' });

    // alice removed, bob with a new password; carol's and dave's lines kept as they were.
    const lines = (await readFile(`${tmp.dir}/users.txt`, 'utf8')).split('\n');
    const kept = lines.filter((l) => l.startsWith('carol:') || l.startsWith('dave:'));
    await writeFile(
      `${tmp.dir}/users.txt`,
      `${kept.join('\n')}\n${passwordFileText({ bob: 'new-bob-pw' })}`,
    );
    const results = await server.security.reload();
    assert.deepEqual(results.find((r) => r.kind === 'password')?.revoked, ['alice', 'bob']);
    assert.equal(
      closeRevokedLogins(server.broker, server.plan.listeners, results, silentLogger),
      3,
    );

    const disconnect = await alice5.next('disconnect');
    assert.equal(disconnect.reasonCode, 0x98);
    assert.equal((await bob5.next('disconnect')).reasonCode, 0x98);
    await alice4.waitClose();
    assert.deepEqual(alice4.received, [], 'MQTT 3.1.1: closed without a packet');
    await alice5.waitClose();
    await bob5.waitClose();
    assert.equal(carol5.isOpen, true);
    assert.equal(claimed.isOpen, true);
    // A ping round trip on the watcher after the closes: no will was published before it.
    watcher.send({ type: 'pingreq' });
    await watcher.next('pingresp');
    assert.deepEqual(
      watcher.received.filter((p) => p.type === 'publish'),
      [],
    );
    for (const c of [carol5, claimed, watcher]) c.destroy();
  });

  it('revokedLogins matches only verified password logins of the listener using that file', () => {
    const match = revokedLogins(server.plan.listeners, [
      {
        kind: 'password',
        path: server.plan.listeners[0].auth.passwordFile!,
        ok: true,
        revoked: ['eve'],
      },
    ])!;
    const client = (listener: string, usernameVerified: boolean): ClientInfo => ({
      clientId: 'x',
      username: 'eve',
      usernameVerified,
      protocolVersion: 5,
      remoteAddress: undefined,
      listener,
      certificateIdentity: undefined,
    });
    assert.equal(match(client('secured', true)), true);
    assert.equal(match(client('secured', false)), false);
    assert.equal(match(client('open', true)), false);
    assert.equal(
      revokedLogins(server.plan.listeners, [{ kind: 'acl', path: 'x', ok: true }]),
      undefined,
    );
  });
});
