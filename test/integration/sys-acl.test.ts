/**
 * `$SYS` readers under an ACL file, wired from a configuration as `pipit broker` does it:
 * only users granted `$SYS/...` read them, and no grant makes them writable.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { type ConfiguredBroker, startConfigured } from '../config/configured-broker.js';
import { passwordFileText, type TempDir, tempDir } from '../config/fixtures.js';
import { collectUntil, connectClient, endClient } from '../helpers/broker.js';
import { TopicValues } from '../helpers/topic-values.js';

const ACL = `
user ops
topic read $SYS/#
topic readwrite done
user bob
topic readwrite bob/#
topic readwrite done
user mallory
topic readwrite $SYS/#
`;

const CONFIG = `
sysInterval: 1
auth:
  passwordFile: users.txt
  aclFile: rules.acl
`;

/** The SUBACK codes of a SUBSCRIBE (MQTT.js reports a v5 failure as an error carrying them). */
function subackCodes(client: MqttClient, filter: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    client.subscribe(filter, (err, grants) => {
      const suback = (err as (Error & { packet?: { granted?: number[] } }) | null)?.packet;
      if (suback?.granted) resolve(suback.granted);
      else if (err) reject(err);
      else resolve((grants ?? []).map((g) => g.qos));
    });
  });
}

describe('$SYS and the ACL file', () => {
  let dir: TempDir;
  let cb: ConfiguredBroker;
  const clients: MqttClient[] = [];

  before(async () => {
    dir = await tempDir();
    await dir.write(
      'users.txt',
      passwordFileText({ ops: 'ops-pw', bob: 'bob-pw', mallory: 'mallory-pw' }),
    );
    await dir.write('rules.acl', ACL);
    cb = await startConfigured(CONFIG, dir.dir);
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    await cb.close();
    await dir.remove();
  });

  async function login(username: string, password: string): Promise<MqttClient> {
    const client = await connectClient(cb.urls[0]!, { protocolVersion: 5, username, password });
    clients.push(client);
    return client;
  }

  it('a user granted $SYS/# read gets the values; one without the grant is refused (SUBACK 0x87)', async () => {
    const ops = await login('ops', 'ops-pw');
    const values = new TopicValues(ops);
    assert.deepEqual(await subackCodes(ops, '$SYS/#'), [0]);
    await values.until('$SYS/broker/clients/connected', (v) => Number(v) >= 1);
    const bob = await login('bob', 'bob-pw');
    assert.deepEqual(await subackCodes(bob, '$SYS/#'), [0x87]);
    // bob's own topics still work, and nothing of $SYS reaches him through a wildcard.
    await bob.subscribeAsync(['bob/#', 'done']);
    const got = collectUntil(bob, 'done');
    const seen = await values.until('$SYS/broker/uptime', () => true);
    await values.until('$SYS/broker/uptime', (v) => v !== seen); // an update went out meanwhile
    await bob.publishAsync('bob/x', 'mine');
    await bob.publishAsync('done', '');
    assert.deepEqual(
      (await got).map((m) => m.topic),
      ['bob/x'],
    );
    assert.ok((await cb.broker.admin.counters()).refused['subscribe-denied'] >= 1);
  });

  it('a readwrite grant on $SYS/# does not make it writable (PUBACK 0x87)', async () => {
    const mallory = await login('mallory', 'mallory-pw');
    await assert.rejects(
      mallory.publishAsync('$SYS/broker/uptime', 'forged', { qos: 1 }),
      (err: Error & { code?: number }) => err.code === 0x87,
    );
    const ops = await login('ops', 'ops-pw');
    const values = new TopicValues(ops);
    await ops.subscribeAsync('$SYS/broker/uptime');
    assert.match(await values.until('$SYS/broker/uptime', () => true), /^\d+ seconds$/);
  });
});
