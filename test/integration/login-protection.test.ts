/**
 * The login guard of the password file over real TCP, wired from a configuration as
 * `pipit broker` does it: an address that failed too often is refused unhashed (v5 CONNACK
 * 0x9F with a reason string, v3.1.1 return code 0x03), counted; a full hash queue answers
 * 0x89; a reloaded password file empties the success cache, so an old password cached
 * before the reload is refused after it; and the core tells a hook that its connection is
 * gone (AuthenticateRequest.closed).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PasswordFile } from '../../src/hooks/index.js';
import { createBroker } from '../../src/index.js';
import type { ConnackPacket, ProtocolVersion } from '../../src/protocol/index.js';
import { type ConfiguredBroker, startConfigured } from '../config/configured-broker.js';
import { passwordFileText, type TempDir, tempDir } from '../config/fixtures.js';
import { connectBytes, RawClient } from '../helpers/raw-client.js';
import { createTestStore } from '../helpers/test-store.js';

/** The CONNACK a login from `from` gets (version `v`). */
async function connack(
  url: string,
  from: string,
  v: ProtocolVersion,
  username: string,
  password: string,
): Promise<ConnackPacket> {
  const port = Number(new URL(url).port);
  const client = await RawClient.openFrom(port, v, from);
  try {
    client.write(connectBytes(v, '', { username, password: Buffer.from(password) }));
    return (await client.next('connack', 10_000)) as ConnackPacket;
  } finally {
    client.destroy();
  }
}

/** Resolves once `condition` holds; rejects after 5 s naming `what`. */
async function poll(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const CONFIG = `
listeners:
  - name: secured
    auth:
      passwordFile: users.txt
auth:
  login:
    freeFailures: 2
    failureDelay: 30
limits:
  addressLimitsOnLoopback: true
`;

describe('login protection over TCP', () => {
  let tmp: TempDir;
  let server: ConfiguredBroker;
  let url: string;

  before(async () => {
    tmp = await tempDir();
    await tmp.write('users.txt', passwordFileText({ alice: 'wonderland', bob: 'builder' }));
    server = await startConfigured(CONFIG, tmp.dir);
    [url] = server.urls as [string];
  });
  after(async () => {
    await server.close();
    await tmp.remove();
  });

  it('an address that failed freeFailures times is refused unhashed: v5 0x9F with a reason [MQTT-3.2.2-8], v3.1.1 0x03', async () => {
    const from = '127.0.0.31';
    assert.equal((await connack(url, from, 5, 'alice', 'guess-1')).reasonCode, 0x86);
    assert.equal((await connack(url, from, 4, 'alice', 'guess-2')).reasonCode, 0x04);
    const hashed = server.security.loginGuard.stats.hashed;
    const v5 = await connack(url, from, 5, 'bob', 'builder');
    assert.equal(v5.reasonCode, 0x9f, 'refused even with the right password');
    assert.match(v5.properties?.reasonString ?? '', /too many failed logins .* retry in 30 s/);
    assert.equal((await connack(url, from, 4, 'bob', 'builder')).reasonCode, 0x03);
    assert.equal(server.security.loginGuard.stats.hashed, hashed, 'no hash for refused logins');
    assert.equal(server.broker.core.metrics.refused['login-throttled'], 2);
    assert.equal(
      (await connack(url, '127.0.0.32', 4, 'bob', 'builder')).reasonCode,
      0x00,
      'another address is served',
    );
  });

  it('a reloaded password file empties the cache: a password cached before the reload no longer works', async () => {
    const from = '127.0.0.33';
    assert.equal((await connack(url, from, 4, 'alice', 'wonderland')).reasonCode, 0);
    const hits = server.security.loginGuard.stats.cacheHits;
    assert.equal((await connack(url, from, 4, 'alice', 'wonderland')).reasonCode, 0);
    assert.equal(server.security.loginGuard.stats.cacheHits, hits + 1, 'answered from the cache');
    await tmp.write('users.txt', passwordFileText({ alice: 'looking-glass', bob: 'builder' }));
    const [result] = await server.security.reload();
    assert.equal(result?.ok, true);
    assert.equal((await connack(url, from, 4, 'alice', 'wonderland')).reasonCode, 0x04);
    assert.equal((await connack(url, from, 4, 'alice', 'looking-glass')).reasonCode, 0);
  });
});

describe('a full hash queue', () => {
  let tmp: TempDir;
  let server: ConfiguredBroker;

  before(async () => {
    tmp = await tempDir();
    // Full-cost hashes: a check lasts long enough for the others to find the queue full.
    const file = PasswordFile.parse('');
    await file.set('alice', 'wonderland');
    await file.save(`${tmp.dir}/users.txt`);
    server = await startConfigured(
      `${CONFIG}\n`.replace(
        'freeFailures: 2',
        'freeFailures: 2\n    maxConcurrentHashes: 1\n    maxQueued: 1',
      ),
      tmp.dir,
    );
  });
  after(async () => {
    await server.close();
    await tmp.remove();
  });

  it('answers 0x89 Server busy (v5) to logins that find no room, counted [MQTT-3.2.2-8]', async () => {
    const [url] = server.urls as [string];
    const froms = ['127.0.0.41', '127.0.0.42', '127.0.0.43', '127.0.0.44', '127.0.0.45'];
    const codes = await Promise.all(
      froms.map((from) => connack(url, from, 5, 'alice', 'nope').then((c) => c.reasonCode)),
    );
    const busy = codes.filter((c) => c === 0x89).length;
    assert.ok(busy >= 1, `codes: ${codes.map((c) => c.toString(16))}`);
    assert.equal(codes.filter((c) => c === 0x86).length + busy, froms.length);
    assert.equal(server.broker.core.metrics.refused['login-busy'], busy);
  });
});

describe('AuthenticateRequest.closed', () => {
  it('turns true once the connection has ended, while the hook still works', async () => {
    const broker = createBroker({ store: createTestStore() });
    let seen: { closed?: boolean } | undefined;
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    broker.addHook({
      name: 'slow-auth',
      authenticate: async (request) => {
        seen = request;
        await held;
        return 'deny' as const;
      },
    });
    const { port } = await broker.listen({ port: 0 });
    try {
      const client = await RawClient.open(port, 4);
      client.write(connectBytes(4, 'leaves-early', { username: 'u', password: Buffer.from('p') }));
      await poll(() => seen !== undefined, 'the hook call');
      assert.equal(seen?.closed, false);
      client.destroy();
      await poll(() => seen?.closed === true, 'closed to turn true');
    } finally {
      release();
      await broker.close();
    }
  });
});
