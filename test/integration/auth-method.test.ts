/**
 * [MQTT-4.12.0-1] An MQTT 5 CONNECT with an Authentication Method the broker does not
 * support is refused with CONNACK 0x8C (Bad authentication method) and closed, never
 * accepted without an exchange, whatever else the listener has configured.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuthenticateRequest } from '../../src/core/index.js';
import { type ConfiguredBroker, startConfigured } from '../config/configured-broker.js';
import { passwordFileText, type TempDir, tempDir } from '../config/fixtures.js';
import { startBroker } from '../helpers/broker.js';
import { connectBytes, RawClient } from '../helpers/raw-client.js';

/** Sends a v5 CONNECT with `method` (and `fields`) and returns the CONNACK, after the close. */
async function connackFor(
  port: number,
  clientId: string,
  method: string,
  fields: { username?: string; password?: Buffer } = {},
) {
  const client = await RawClient.open(port, 5);
  client.write(
    connectBytes(5, clientId, {
      ...fields,
      properties: { authenticationMethod: method, authenticationData: Buffer.from('client-first') },
    }),
  );
  const connack = await client.next('connack');
  await client.waitClose();
  assert.deepEqual(client.received, [], 'nothing after the CONNACK');
  return connack;
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

describe('unsupported Authentication Method', () => {
  let tmp: TempDir;
  let open: ConfiguredBroker;
  let secured: ConfiguredBroker;

  before(async () => {
    tmp = await tempDir();
    await tmp.write('users.txt', passwordFileText({ alice: 'alice-pw' }));
    open = await startConfigured('listeners:\n  - name: local\n', tmp.dir);
    secured = await startConfigured(
      'listeners:\n  - name: secured\n    auth:\n      passwordFile: users.txt\n',
      tmp.dir,
    );
  });
  after(async () => {
    await open.close();
    await secured.close();
    await tmp.remove();
  });

  test('[MQTT-4.12.0-1] the default loopback listener (anonymous allowed) answers CONNACK 0x8C and closes', async () => {
    const connack = await connackFor(portOf(open.urls[0]), 'scram-open', 'SCRAM-SHA-1');
    assert.equal(connack.reasonCode, 0x8c);
    assert.equal(connack.sessionPresent, false);
    assert.equal(connack.properties?.authenticationMethod, undefined, 'the method is not echoed');
  });

  test('[MQTT-4.12.0-1] with a password file and valid credentials it is still 0x8C, not 0x86', async () => {
    const connack = await connackFor(portOf(secured.urls[0]), 'scram-secured', 'SCRAM-SHA-1', {
      username: 'alice',
      password: Buffer.from('alice-pw'),
    });
    assert.equal(connack.reasonCode, 0x8c);
  });

  test('[MQTT-4.12.0-1] an embedded broker without hooks answers 0x8C', async () => {
    const server = await startBroker();
    try {
      assert.equal((await connackFor(server.port, 'scram-bare', 'SCRAM-SHA-1')).reasonCode, 0x8c);
    } finally {
      await server.close();
    }
  });

  test('[MQTT-4.12.0-1] hooks that all defer an unknown method give 0x8C; the supported one works', async () => {
    const server = await startBroker();
    server.broker.addHook({
      name: 'token-only',
      authenticate: (request: AuthenticateRequest) =>
        request.authenticationMethod === 'TOKEN' ? 'allow' : 'defer',
    });
    try {
      assert.equal((await connackFor(server.port, 'scram-hooked', 'SCRAM-SHA-1')).reasonCode, 0x8c);
      const client = await RawClient.open(server.port, 5);
      client.write(connectBytes(5, 'token', { properties: { authenticationMethod: 'TOKEN' } }));
      const connack = await client.next('connack');
      assert.equal(connack.reasonCode, 0);
      assert.equal(connack.properties?.authenticationMethod, 'TOKEN');
      client.destroy();
    } finally {
      await server.close();
    }
  });

  test('[MQTT-4.12.1-2] a re-authentication that every hook defers gets DISCONNECT 0x87, never the CONNACK-only 0x8C', async () => {
    const server = await startBroker();
    server.broker.addHook({
      name: 'token-once',
      authenticate: (request: AuthenticateRequest) =>
        request.authenticationMethod === 'TOKEN' && request.step === 0 ? 'allow' : 'defer',
    });
    try {
      const client = await RawClient.open(server.port, 5);
      client.write(connectBytes(5, 'reauth', { properties: { authenticationMethod: 'TOKEN' } }));
      assert.equal((await client.next('connack')).reasonCode, 0);
      client.send({
        type: 'auth',
        reasonCode: 0x19,
        properties: { authenticationMethod: 'TOKEN', authenticationData: Buffer.from('again') },
      });
      assert.equal((await client.next('disconnect')).reasonCode, 0x87);
      await client.waitClose();
    } finally {
      await server.close();
    }
  });
});
