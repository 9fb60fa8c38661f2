/**
 * Password file and ACL file over real TCP with MQTT.js (3.1.1 and 5.0), wired from a
 * configuration exactly as `pipit broker` does it.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { type ConfiguredBroker, startConfigured } from '../config/configured-broker.js';
import { passwordFileText, type TempDir, tempDir } from '../config/fixtures.js';
import { collectFor, connectClient, endClient } from '../helpers/broker.js';

const ACL = `
topic read $SYS/#
user alice
topic readwrite alice/#
topic read shared/#
topic deny shared/secret/#
topic write cmd/#
user bob
topic readwrite shared/#
topic write $SYS/hack
pattern readwrite clients/%c/#
pattern read users/%u/inbox
`;

const CONFIG = `
listeners:
  - name: secured
    auth:
      passwordFile: users.txt
      aclFile: rules.acl
  - name: open
    port: 1884
    auth:
      allowAnonymous: true
`;

/** Resolves with the CONNACK code of a refused connection (fails if it was accepted). */
function refusal(url: string, options: IClientOptions): Promise<number> {
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

/** The v5 PUBACK reason code of a QoS 1 publish (0 when accepted). */
function pubackCode(client: MqttClient, topic: string, payload = 'x'): Promise<number> {
  return new Promise((resolve) => {
    client.publish(topic, payload, { qos: 1 }, (err) => {
      resolve(
        err === undefined || err === null ? 0 : ((err as Error & { code?: number }).code ?? -1),
      );
    });
  });
}

/** The granted QoS / reason codes of a SUBSCRIBE. */
function granted(client: MqttClient, filter: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    client.subscribe(filter, { qos: 1 }, (err, grants) => {
      // MQTT.js reports a v5 failure code as an error that carries the SUBACK.
      const suback = (err as (Error & { packet?: { granted?: number[] } }) | null)?.packet;
      if (suback?.granted) resolve(suback.granted);
      else if (err) reject(err);
      else resolve((grants ?? []).map((g) => g.qos));
    });
  });
}

describe('auth over TCP: password file and ACL file', () => {
  let tmp: TempDir;
  let server: ConfiguredBroker;
  let secured: string;
  let open: string;
  const clients: MqttClient[] = [];
  const login = async (username: string, password: string, extra: IClientOptions = {}) => {
    const client = await connectClient(secured, {
      username,
      password,
      protocolVersion: 5,
      ...extra,
    });
    clients.push(client);
    return client;
  };

  before(async () => {
    tmp = await tempDir();
    await tmp.write('users.txt', passwordFileText({ alice: 'wonderland', bob: 'builder' }));
    await tmp.write('rules.acl', ACL);
    server = await startConfigured(CONFIG, tmp.dir);
    [secured, open] = server.urls;
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    await server.close();
    await tmp.remove();
  });

  describe('password file', () => {
    it('accepts a good password (3.1.1 and 5.0)', async () => {
      for (const protocolVersion of [4, 5] as const) {
        const client = await connectClient(secured, {
          username: 'alice',
          password: 'wonderland',
          protocolVersion,
        });
        assert.equal(client.connected, true);
        await endClient(client);
      }
    });

    it('a bad password is refused: v5 CONNACK 0x86, v3.1.1 return code 0x04', async () => {
      assert.equal(
        await refusal(secured, { username: 'alice', password: 'nope', protocolVersion: 5 }),
        0x86,
      );
      assert.equal(
        await refusal(secured, { username: 'alice', password: 'nope', protocolVersion: 4 }),
        0x04,
      );
    });

    it('an unknown user gets the same answer as a bad password', async () => {
      assert.equal(
        await refusal(secured, { username: 'mallory', password: 'x', protocolVersion: 5 }),
        0x86,
      );
      assert.equal(
        await refusal(secured, { username: 'mallory', password: 'x', protocolVersion: 4 }),
        0x04,
      );
    });

    it('a username without a password is refused', async () => {
      assert.equal(await refusal(secured, { username: 'alice', protocolVersion: 5 }), 0x86);
    });

    it('anonymous clients are refused where a password file is set (v5 0x87, v3 0x05)', async () => {
      assert.equal(await refusal(secured, { protocolVersion: 5 }), 0x87);
      assert.equal(await refusal(secured, { protocolVersion: 4 }), 0x05);
    });

    it('the policy is per listener: the open listener takes anonymous clients', async () => {
      const client = await connectClient(open, { protocolVersion: 4 });
      assert.equal(client.connected, true);
      await endClient(client);
    });
  });

  describe('ACL file', () => {
    it('a denied publish gets v5 PUBACK 0x87; an allowed one 0x00', async () => {
      const alice = await login('alice', 'wonderland');
      assert.equal(await pubackCode(alice, 'alice/notes'), 0);
      assert.equal(await pubackCode(alice, 'bob/notes'), 0x87);
    });

    it('a denied subscription gets SUBACK 0x87 in v5 and 0x80 in v3.1.1', async () => {
      const alice5 = await login('alice', 'wonderland');
      assert.deepEqual(await granted(alice5, 'bob/#'), [0x87]);
      assert.deepEqual(await granted(alice5, 'shared/#'), [1]);
      const alice3 = await login('alice', 'wonderland', { protocolVersion: 4 });
      assert.deepEqual(await granted(alice3, 'bob/#'), [0x80]);
    });

    it('messages the client may not read are not delivered, inside a granted subscription', async () => {
      const alice = await login('alice', 'wonderland');
      const bob = await login('bob', 'builder');
      await granted(alice, 'shared/#');
      const got = collectFor(alice, 300);
      await pubackCode(bob, 'shared/secret/plan');
      await pubackCode(bob, 'shared/news', 'hello');
      const messages = await got;
      assert.deepEqual(
        messages.map((m) => m.topic),
        ['shared/news'],
      );
    });

    it('read-denied retained messages are not sent on subscribe either', async () => {
      const bob = await login('bob', 'builder');
      await new Promise((r) =>
        bob.publish('shared/secret/kept', 'no', { qos: 1, retain: true }, r),
      );
      await new Promise((r) => bob.publish('shared/kept', 'yes', { qos: 1, retain: true }, r));
      const alice = await login('alice', 'wonderland');
      const got = collectFor(alice, 300);
      await granted(alice, 'shared/#');
      const messages = await got;
      assert.deepEqual(
        messages.filter((m) => m.topic.includes('kept')).map((m) => m.topic),
        ['shared/kept'],
      );
    });

    it('%c in a pattern is the client id, %u the username', async () => {
      const bob = await login('bob', 'builder', { clientId: 'dev1' });
      assert.equal(await pubackCode(bob, 'clients/dev1/state'), 0);
      assert.equal(await pubackCode(bob, 'clients/dev2/state'), 0x87);
      const alice = await login('alice', 'wonderland');
      assert.deepEqual(await granted(alice, 'users/alice/inbox'), [1]);
      assert.deepEqual(await granted(alice, 'users/bob/inbox'), [0x87]);
    });

    it('$SYS is not writable, even with an ACL grant, nor on a listener without ACL', async () => {
      const bob = await login('bob', 'builder');
      assert.equal(await pubackCode(bob, '$SYS/hack'), 0x87);
      const anon = await connectClient(open, { protocolVersion: 5 });
      clients.push(anon);
      assert.equal(await pubackCode(anon, '$SYS/broker/uptime'), 0x87);
      assert.equal(await pubackCode(anon, 'anything/else'), 0, 'no ACL on this listener');
    });

    it('a will on a topic the client may not write is not published', async () => {
      const alice = await login('alice', 'wonderland');
      await granted(alice, 'shared/#');
      const got = collectFor(alice, 400);
      const bob = await connectClient(secured, {
        username: 'bob',
        password: 'builder',
        protocolVersion: 5,
        will: { topic: 'alice/will', payload: Buffer.from('bye'), qos: 0, retain: false },
      });
      bob.stream.destroy();
      assert.deepEqual(await got, []);
    });
  });

  describe('reload (what SIGHUP does)', () => {
    it('picks up a new password and new ACL rules; a bad file keeps the old one', async () => {
      await writeFile(
        `${tmp.dir}/users.txt`,
        passwordFileText({ alice: 'looking-glass', carol: 'c' }),
      );
      await writeFile(`${tmp.dir}/rules.acl`, `${ACL}\nuser carol\ntopic readwrite carol/#\n`);
      const results = await server.security.reload();
      assert.deepEqual(
        results.map((r) => r.ok),
        [true, true],
      );
      assert.equal(
        await refusal(secured, { username: 'alice', password: 'wonderland', protocolVersion: 5 }),
        0x86,
      );
      const carol = await login('carol', 'c');
      assert.equal(await pubackCode(carol, 'carol/x'), 0);

      await writeFile(`${tmp.dir}/users.txt`, 'carol has no hash\n');
      await writeFile(`${tmp.dir}/rules.acl`, 'frobnicate everything\n');
      const failed = await server.security.reload();
      assert.deepEqual(
        failed.map((r) => r.ok),
        [false, false],
      );
      assert.match(failed[0].error ?? '', /users\.txt:1: expected 'username:hash'/);
      const again = await login('carol', 'c');
      assert.equal(await pubackCode(again, 'carol/y'), 0, 'old ACL still in force');
    });
  });
});
