/**
 * Hostile load on identity (hardening issue #16, items 7 and 8), against the real
 * `pipit broker` with a password file and an ACL file:
 * - bob, a valid user, storms alice's client id (takeover and clean start, 3.1.1 and 5.0)
 *   while her session is stored, across an SQLite restart, and while she is connected: every
 *   attempt gets CONNACK 0x85 / 0x02, alice keeps her connection, her session and all her
 *   queued messages, and bob never gets the `%c` rights of her client id;
 * - a crowd claiming username "admin" without a password on a listener that has no
 *   password file gets the anonymous rights only: no admin subscription, no admin publish.
 * Every case checks that the broker stays alive, its RSS stays under a bound, and a fresh
 * client is served within a second during the attack and after it.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import type { ConnectPacket, Packet, ProtocolVersion, QoS } from '../../../src/protocol/index.js';
import { passwordFileText } from '../../config/fixtures.js';
import { connectBytes, RawClient } from '../../helpers/raw-client.js';
import { assertRssGrowthBelow, assertServed, freePort, LoadBroker, tempDir } from './harness.js';

/** What these cases may add to the broker's resident set, in MiB. */
const RSS_GROWTH_MIB = 95;

const ACL = `
# clients without a verified username
topic readwrite served/#
topic read public/#
pattern readwrite clients/%c/#
user alice
topic read public/#
user bob
topic readwrite bob/#
user admin
topic readwrite #
`;

const USERS = { alice: 'alice-pw', bob: 'bob-pw', admin: 'admin-pw' };

/** Data dir with users.txt, rules.acl; the config has an open first listener and a secured one. */
function brokerFiles(securedPort: number): { dataDir: string; config: string } {
  const dataDir = tempDir('pipit-identity-');
  writeFileSync(join(dataDir, 'users.txt'), passwordFileText(USERS));
  writeFileSync(join(dataDir, 'rules.acl'), ACL);
  const config = `
listeners:
  - name: open
  - name: secured
    port: ${securedPort}
    auth:
      passwordFile: users.txt
auth:
  aclFile: rules.acl
`;
  return { dataDir, config };
}

/** Opens a raw connection and sends CONNECT; resolves with the client and its CONNACK code. */
async function connect(
  port: number,
  version: ProtocolVersion,
  clientId: string,
  fields: Partial<ConnectPacket> = {},
): Promise<{ client: RawClient; code: number }> {
  const client = await RawClient.open(port, version);
  client.write(connectBytes(version, clientId, fields));
  const connack = await client.next('connack', 10_000);
  return { client, code: connack.reasonCode };
}

function login(username: keyof typeof USERS): Partial<ConnectPacket> {
  return { username, password: Buffer.from(USERS[username]) };
}

function sub(filter: string, qos: QoS = 1): Packet {
  return {
    type: 'subscribe',
    packetId: 1,
    subscriptions: [{ filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
  };
}

/** Attempts of any storm answered so far: tells that an attack is under way. */
let stormAttemptsAnswered = 0;

/**
 * `count` connection attempts, `parallel` at a time, each made by `attempt(i)`; returns how
 * many got each CONNACK code (and 'accepted-session-present' for a takeover that worked).
 */
async function storm(
  count: number,
  parallel: number,
  attempt: (i: number) => Promise<string>,
): Promise<Record<string, number>> {
  const tally: Record<string, number> = {};
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const outcome = await attempt(next++);
      tally[outcome] = (tally[outcome] ?? 0) + 1;
      stormAttemptsAnswered++;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return tally;
}

/** bob tries alice's client id: alternately resuming and starting clean, 5.0 and 3.1.1. */
function bobTakesAliceDev(port: number) {
  return async (i: number): Promise<string> => {
    const version: ProtocolVersion = i % 2 === 0 ? 5 : 4;
    const clean = i % 4 < 2;
    const properties = version === 5 ? { sessionExpiryInterval: 3600 } : undefined;
    const { client, code } = await connect(port, version, 'alice-dev', {
      ...login('bob'),
      clean,
      properties,
    });
    client.send(sub('clients/alice-dev/#'));
    client.destroy();
    return `v${version}:0x${code.toString(16)}`;
  };
}

/**
 * Runs `attack`, proving the broker serves a fresh client while it is still running and
 * after it; reports the figures (served times, RSS) as test diagnostics.
 */
async function duringAttack<T>(
  t: TestContext,
  broker: LoadBroker,
  tag: string,
  attack: Promise<T>,
): Promise<T> {
  let done = false;
  const started = performance.now();
  const answeredBefore = stormAttemptsAnswered;
  const tracked = attack.finally(() => {
    done = true;
  });
  // The served check starts once the attack is under way (its first attempts answered), not
  // after a fixed 200 ms: storms of 600 take 0.4-1.5 s here, but one ended within 200 ms in a
  // CI run and failed the check below with nothing wrong with the broker.
  while (stormAttemptsAnswered < answeredBefore + 5 && !done) {
    await new Promise((r) => setTimeout(r, 1));
  }
  assert.equal(done, false, `${tag}: the attack must still be running for the served check`);
  const during = await assertServed(broker, `${tag}-during`);
  const result = await tracked;
  const took = performance.now() - started;
  const rss = assertRssGrowthBelow(broker, RSS_GROWTH_MIB, tag);
  const afterwards = await assertServed(broker, `${tag}-after`);
  t.diagnostic(
    `${tag}: attack ${took.toFixed(0)} ms; served during in ${during.toFixed(0)} ms, after in ` +
      `${afterwards.toFixed(0)} ms; RSS ${rss.toFixed(0)} MiB (peak ${broker.peakRssMiB().toFixed(0)}, growth bound ${RSS_GROWTH_MIB})`,
  );
  return result;
}

describe('hostile load: identity', () => {
  const brokers: LoadBroker[] = [];
  after(async () => {
    for (const broker of brokers) await broker.stop();
  });

  it("[MQTT-3.1.3-8] bob cannot take alice's stored or live session, across an SQLite restart", async (t) => {
    const securedPort = await freePort();
    const files = brokerFiles(securedPort);
    const broker = await LoadBroker.start({ ...files, sqlite: true });
    brokers.push(broker);
    const secured = `127.0.0.1:${securedPort}`;
    await broker.proc.waitForOutput(secured, 10_000);

    // alice's persistent session with a subscription; 200 messages queued while she is away.
    const alice = await connect(securedPort, 5, 'alice-dev', {
      ...login('alice'),
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    });
    assert.equal(alice.code, 0);
    alice.client.send(sub('clients/alice-dev/#'));
    assert.deepEqual((await alice.client.next('suback')).reasonCodes, [1]);
    alice.client.send({ type: 'disconnect', reasonCode: 0 });
    await alice.client.waitClose();
    const admin = await connect(securedPort, 4, 'admin-publisher', login('admin'));
    const queued = 200;
    for (let i = 1; i <= queued; i++) {
      admin.client.send({
        type: 'publish',
        topic: 'clients/alice-dev/inbox',
        payload: Buffer.from(`m${i}`),
        qos: 1,
        packetId: i,
        retain: false,
        dup: false,
      });
    }
    for (let i = 0; i < queued; i++) await admin.client.next('puback');
    admin.client.destroy();

    const offline = await duringAttack(
      t,
      broker,
      'stored-session',
      storm(1500, 40, bobTakesAliceDev(securedPort)),
    );
    assert.deepEqual(offline, { 'v5:0x85': 750, 'v4:0x2': 750 });

    await broker.restart();
    await broker.proc.waitForOutput(secured, 10_000);
    const restarted = await duringAttack(
      t,
      broker,
      'after-restart',
      storm(600, 40, bobTakesAliceDev(securedPort)),
    );
    assert.deepEqual(restarted, { 'v5:0x85': 300, 'v4:0x2': 300 });

    const back = await RawClient.open(securedPort, 5);
    back.write(
      connectBytes(5, 'alice-dev', {
        ...login('alice'),
        clean: false,
        properties: { sessionExpiryInterval: 3600 },
      }),
    );
    const connack = await back.next('connack');
    assert.equal(connack.reasonCode, 0);
    assert.equal(
      connack.sessionPresent,
      true,
      "alice's session survived the storm and the restart",
    );
    const payloads = new Set<string>();
    while (payloads.size < queued) {
      const message = await back.next('publish', 10_000);
      payloads.add(message.payload.toString());
      back.send({ type: 'puback', packetId: message.packetId! });
    }
    assert.equal(payloads.size, queued, 'every queued message reached alice');

    const live = await duringAttack(
      t,
      broker,
      'live-session',
      storm(600, 40, bobTakesAliceDev(securedPort)),
    );
    assert.deepEqual(live, { 'v5:0x85': 300, 'v4:0x2': 300 });
    back.send({ type: 'pingreq' });
    await back.next('pingresp');
    assert.equal(
      back.received.some((p) => p.type === 'disconnect'),
      false,
      'alice was never told 0x8E Session taken over',
    );
    back.destroy();
    assert.equal(broker.alive, true);
  });

  it('a crowd claiming "admin" without a password gets anonymous rights only', async (t) => {
    const securedPort = await freePort();
    const broker = await LoadBroker.start(brokerFiles(securedPort));
    brokers.push(broker);
    await broker.proc.waitForOutput(`127.0.0.1:${securedPort}`, 10_000);
    const victim = await connect(securedPort, 5, 'plant-watcher', login('admin'));
    victim.client.send(sub('plant/#', 0));
    await victim.client.next('suback');

    const crowd = storm(600, 30, async (i) => {
      const version: ProtocolVersion = i % 2 === 0 ? 5 : 4;
      const { client, code } = await connect(broker.port, version, `fake-admin-${i}`, {
        username: 'admin',
      });
      client.send(sub('#'));
      const suback = await client.next('suback');
      client.send({
        type: 'publish',
        topic: 'plant/valve/open',
        payload: Buffer.from('forged'),
        qos: 1,
        packetId: 2,
        retain: false,
        dup: false,
      });
      const puback = await client.next('puback');
      client.destroy();
      return `v${version}:connack 0x${code.toString(16)} suback 0x${suback.reasonCodes[0].toString(16)} puback 0x${(puback.reasonCode ?? 0).toString(16)}`;
    });
    const tally = await duringAttack(t, broker, 'claimed-admin', crowd);
    // v5: SUBACK 0x87 and PUBACK 0x87; v3.1.1: SUBACK 0x80, a plain PUBACK [MQTT-3.3.5-2].
    assert.deepEqual(tally, {
      'v5:connack 0x0 suback 0x87 puback 0x87': 300,
      'v4:connack 0x0 suback 0x80 puback 0x0': 300,
    });
    const admin = await connect(securedPort, 4, 'real-admin', login('admin'));
    admin.client.send({
      type: 'publish',
      topic: 'plant/sentinel',
      payload: Buffer.from('end'),
      qos: 0,
      retain: false,
      dup: false,
    });
    const first = await victim.client.next('publish');
    assert.equal(first.topic, 'plant/sentinel', 'no forged message reached the plant before it');
    admin.client.destroy();
    victim.client.destroy();
    assert.equal(broker.alive, true);
  });
});
