/**
 * A username is an identity only once something verified it. On a listener without a
 * password file a client that says "admin" is let in as anonymous (as the listener allows
 * anonymous clients): admin's `user` block and the `%u` patterns do not apply to it. Over
 * real TCP with MQTT.js, wired from configuration as `pipit broker` does it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { type ConfiguredBroker, startConfigured } from '../config/configured-broker.js';
import { passwordFileText, type TempDir, tempDir } from '../config/fixtures.js';
import { connectClient, endClient } from '../helpers/broker.js';

const ACL = `
topic read public/#
user admin
topic readwrite #
pattern readwrite users/%u/#
`;

const CONFIG = `
listeners:
  - name: plain
    auth:
      aclFile: rules.acl
  - name: secured
    port: 1884
    auth:
      aclFile: rules.acl
      passwordFile: users.txt
`;

/** The v5 PUBACK reason code of a QoS 1 publish (0 when accepted, 0x10 included: MQTT.js reports it as success). */
function pubackCode(client: MqttClient, topic: string): Promise<number> {
  return new Promise((resolve) => {
    client.publish(topic, 'x', { qos: 1 }, (err) => {
      resolve(err ? ((err as Error & { code?: number }).code ?? -1) : 0);
    });
  });
}

/** The SUBACK reason code of one filter. */
function subackCode(client: MqttClient, filter: string): Promise<number> {
  return new Promise((resolve, reject) => {
    client.subscribe(filter, { qos: 1 }, (err, grants) => {
      const suback = (err as (Error & { packet?: { granted?: number[] } }) | null)?.packet;
      if (suback?.granted) resolve(suback.granted[0]);
      else if (err) reject(err);
      else resolve(grants?.[0]?.qos ?? -1);
    });
  });
}

describe('unverified usernames are anonymous to the ACL', () => {
  let tmp: TempDir;
  let server: ConfiguredBroker;
  const clients: MqttClient[] = [];

  before(async () => {
    tmp = await tempDir();
    await tmp.write('rules.acl', ACL);
    await tmp.write('users.txt', passwordFileText({ admin: 'root-pw' }));
    server = await startConfigured(CONFIG, tmp.dir);
  });
  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    await server.close();
    await tmp.remove();
  });

  it('a client claiming "admin" without a password file connects as anonymous: no admin rights', async () => {
    const claimed = await connectClient(server.urls[0], { username: 'admin', protocolVersion: 5 });
    clients.push(claimed);
    assert.equal(await pubackCode(claimed, 'plant/valve/open'), 0x87);
    assert.equal(await subackCode(claimed, '#'), 0x87);
    assert.equal(await subackCode(claimed, 'public/#'), 1, 'the anonymous rules apply');
  });

  it('%u is not substituted with an unverified username', async () => {
    const claimed = await connectClient(server.urls[0], { username: 'admin', protocolVersion: 5 });
    clients.push(claimed);
    assert.equal(await pubackCode(claimed, 'users/admin/inbox'), 0x87);
    assert.equal(await subackCode(claimed, 'users/admin/#'), 0x87);
  });

  it('the same ACL grants admin everything once the password file verified the name', async () => {
    const admin = await connectClient(server.urls[1], {
      username: 'admin',
      password: 'root-pw',
      protocolVersion: 5,
    });
    clients.push(admin);
    assert.equal(await pubackCode(admin, 'plant/valve/open'), 0);
    assert.equal(await subackCode(admin, '#'), 1);
    assert.equal(await pubackCode(admin, 'users/admin/inbox'), 0);
  });

  it('the hooks see the claim: ClientInfo.usernameVerified is false on one listener, true on the other', async () => {
    const seen = new Map<string, boolean>();
    server.broker.on('clientConnected', (client) =>
      seen.set(client.listener, client.usernameVerified),
    );
    const claimed = await connectClient(server.urls[0], { username: 'admin', protocolVersion: 4 });
    const verified = await connectClient(server.urls[1], {
      username: 'admin',
      password: 'root-pw',
      protocolVersion: 4,
    });
    clients.push(claimed, verified);
    assert.deepEqual(Object.fromEntries(seen), { plain: false, secured: true });
  });
});
