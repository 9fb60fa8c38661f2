/**
 * MQTT 5 enhanced authentication (AUTH exchanges, re-authentication) and server redirection,
 * through an authenticate hook, with exact packets from the core harness.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuthenticateRequest, BrokerCore, Hook } from '../../src/core/index.js';
import type { Packet } from '../../src/protocol/index.js';
import { createTestCore, FakeClient, flush } from '../helpers/core-harness.js';

/**
 * A challenge/response method 'CHAL': no data or 'hello' -> challenge; 'answer' -> allow with
 * 'welcome'; anything else -> deny. Other methods defer.
 */
function challengeHook(seen: AuthenticateRequest[] = []): Hook {
  return {
    name: 'challenge',
    authenticate(request) {
      seen.push(request);
      if (request.authenticationMethod !== 'CHAL') return 'defer';
      const data = request.authenticationData?.toString();
      if (data === undefined || data === 'hello') {
        return { result: 'continue', authenticationData: Buffer.from('challenge') };
      }
      if (data === 'answer') return { result: 'allow', authenticationData: Buffer.from('welcome') };
      return { result: 'deny' };
    },
  };
}

function only<T extends Packet['type']>(client: FakeClient, type: T): Extract<Packet, { type: T }> {
  const packets = client.take();
  assert.equal(packets.length, 1, `one packet, got ${packets.map((p) => p.type).join(',')}`);
  const [packet] = packets;
  assert.equal(packet?.type, type);
  return packet as Extract<Packet, { type: T }>;
}

async function startChallenge(core: BrokerCore, clientId = 'c'): Promise<FakeClient> {
  const client = new FakeClient(core, 5);
  client.connect({ clientId, properties: { authenticationMethod: 'CHAL' } });
  await flush();
  const auth = only(client, 'auth');
  assert.equal(auth.reasonCode, 0x18);
  return client;
}

async function connectWithChallenge(core: BrokerCore, clientId = 'c'): Promise<FakeClient> {
  const client = await startChallenge(core, clientId);
  client.send({
    type: 'auth',
    reasonCode: 0x18,
    properties: { authenticationMethod: 'CHAL', authenticationData: Buffer.from('answer') },
  });
  await flush();
  const connack = only(client, 'connack');
  assert.equal(connack.reasonCode, 0);
  return client;
}

describe('core v5: enhanced authentication', () => {
  it('[MQTT-4.12.0-2] CONNECT with a method -> AUTH 0x18 -> AUTH 0x18 -> CONNACK 0x00 with the method', async () => {
    const { core } = createTestCore();
    const seen: AuthenticateRequest[] = [];
    core.addHook(challengeHook(seen));
    const client = new FakeClient(core, 5);
    client.connect({ clientId: 'c', properties: { authenticationMethod: 'CHAL' } });
    await flush();
    const auth = only(client, 'auth');
    assert.equal(auth.reasonCode, 0x18);
    assert.equal(auth.properties?.authenticationMethod, 'CHAL'); // [MQTT-4.12.0-5]
    assert.equal(auth.properties?.authenticationData?.toString(), 'challenge');
    client.send({
      type: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: 'CHAL', authenticationData: Buffer.from('answer') },
    });
    await flush();
    const connack = only(client, 'connack');
    assert.equal(connack.reasonCode, 0);
    assert.equal(connack.properties?.authenticationMethod, 'CHAL'); // [MQTT-4.12.0-5]
    assert.equal(connack.properties?.authenticationData?.toString(), 'welcome');
    assert.deepEqual(
      seen.map((r) => r.step),
      [0, 1],
    );
    client.send({ type: 'pingreq' });
    assert.equal(only(client, 'pingresp').type, 'pingresp');
  });

  it('[MQTT-4.12.0-4] a wrong answer ends the exchange with CONNACK 0x87 and a close', async () => {
    const { core, admin } = createTestCore();
    core.addHook(challengeHook());
    const client = await startChallenge(core);
    client.send({
      type: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: 'CHAL', authenticationData: Buffer.from('wrong') },
    });
    await flush();
    const connack = only(client, 'connack');
    assert.equal(connack.reasonCode, 0x87);
    assert.equal(client.ended, true);
    assert.equal(await admin.session('c'), undefined, 'no session for a refused client');
  });

  it('[MQTT-4.12.0-1] an authentication method without any authenticate hook is CONNACK 0x8C', () => {
    const { core } = createTestCore();
    const client = new FakeClient(core, 5);
    client.connect({ clientId: 'c', properties: { authenticationMethod: 'SCRAM-SHA-1' } });
    const connack = only(client, 'connack');
    assert.equal(connack.reasonCode, 0x8c);
    assert.equal(client.ended, true);
  });

  it('[MQTT-4.12.0-1] a method every hook defers on is refused', async () => {
    const { core } = createTestCore();
    core.addHook(challengeHook());
    const client = new FakeClient(core, 5);
    client.connect({ clientId: 'c', properties: { authenticationMethod: 'OTHER' } });
    await flush();
    const connack = only(client, 'connack');
    assert.ok(connack.reasonCode === 0x87 || connack.reasonCode === 0x8c, 'refused');
    assert.equal(client.ended, true);
  });

  it('[MQTT-4.12.0-5] an AUTH with another method is a protocol error', async () => {
    const { core } = createTestCore();
    core.addHook(challengeHook());
    const client = await startChallenge(core);
    client.send({
      type: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: 'OTHER', authenticationData: Buffer.from('answer') },
    });
    await flush();
    const connack = only(client, 'connack');
    assert.equal(connack.reasonCode, 0x82);
    assert.equal(client.ended, true);
  });

  it('§4.12 a PUBLISH before the exchange is complete is a protocol error', async () => {
    const { core } = createTestCore();
    core.addHook(challengeHook());
    const client = await startChallenge(core);
    client.send({
      type: 'publish',
      topic: 't',
      payload: Buffer.from('x'),
      qos: 0,
      retain: false,
      dup: false,
    });
    await flush();
    const connack = only(client, 'connack');
    assert.equal(connack.reasonCode, 0x82);
    assert.equal(client.ended, true);
  });

  it('[MQTT-4.12.1-1] re-authentication: AUTH 0x19 -> AUTH 0x18 -> AUTH 0x18 -> AUTH 0x00, still connected', async () => {
    const { core } = createTestCore();
    core.addHook(challengeHook());
    const client = await connectWithChallenge(core);
    client.send({
      type: 'auth',
      reasonCode: 0x19,
      properties: { authenticationMethod: 'CHAL', authenticationData: Buffer.from('hello') },
    });
    await flush();
    const challenge = only(client, 'auth');
    assert.equal(challenge.reasonCode, 0x18);
    assert.equal(challenge.properties?.authenticationMethod, 'CHAL');
    client.send({
      type: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: 'CHAL', authenticationData: Buffer.from('answer') },
    });
    await flush();
    const done = only(client, 'auth');
    assert.equal(done.reasonCode, 0x00);
    assert.equal(done.properties?.authenticationMethod, 'CHAL');
    assert.equal(client.ended, false);
    client.send({ type: 'pingreq' });
    assert.equal(only(client, 'pingresp').type, 'pingresp');
  });

  it('[MQTT-4.12.1-2] a failed re-authentication is DISCONNECT 0x87 and a close', async () => {
    const { core } = createTestCore();
    core.addHook(challengeHook());
    const client = await connectWithChallenge(core);
    client.send({
      type: 'auth',
      reasonCode: 0x19,
      properties: { authenticationMethod: 'CHAL', authenticationData: Buffer.from('nonsense') },
    });
    await flush();
    const disconnect = only(client, 'disconnect');
    assert.equal(disconnect.reasonCode, 0x87);
    assert.equal(client.ended, true);
  });

  it('[MQTT-4.12.1-1] re-authentication without enhanced auth at CONNECT is a protocol error', () => {
    const { core } = createTestCore();
    const client = new FakeClient(core, 5);
    client.connect({ clientId: 'plain' });
    client.take();
    client.send({ type: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'CHAL' } });
    const disconnect = only(client, 'disconnect');
    assert.equal(disconnect.reasonCode, 0x82);
  });
});

describe('core v5: server redirection (§4.11)', () => {
  for (const code of [0x9c, 0x9d]) {
    it(`§4.11 an authenticate hook redirecting with 0x${code.toString(16)} -> CONNACK with Server Reference`, async () => {
      const { core, admin } = createTestCore();
      core.addHook({
        authenticate: () => ({
          result: 'redirect',
          serverReference: 'other.example:1883',
          reasonCode: code,
        }),
      });
      const client = new FakeClient(core, 5);
      client.connect({ clientId: 'moved' });
      await flush();
      const connack = only(client, 'connack');
      assert.equal(connack.reasonCode, code);
      assert.equal(connack.properties?.serverReference, 'other.example:1883');
      assert.equal(client.ended, true);
      assert.equal((await admin.counters()).sessions, 0);
    });
  }

  it('§4.11 a 3.1.1 client that is redirected is refused with a 3.x return code', async () => {
    const { core } = createTestCore();
    core.addHook({
      authenticate: () => ({ result: 'redirect', serverReference: 'x', reasonCode: 0x9c }),
    });
    const client = new FakeClient(core, 4);
    client.connect({ clientId: 'moved' });
    await flush();
    const connack = only(client, 'connack');
    assert.ok(connack.reasonCode > 0 && connack.reasonCode <= 5, `3.x code ${connack.reasonCode}`);
    assert.equal(client.ended, true);
  });
});
