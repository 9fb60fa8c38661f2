import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configToPlan, parseConfig } from '../../src/config/index.js';
import { createTestCore, FakeClient } from '../helpers/core-harness.js';

describe('core: server redirect from the configuration [MQTT-4.11]', () => {
  it('v5 clients get CONNACK 0x9C Use another server with the Server Reference', () => {
    const { core } = createTestCore({ serverRedirect: { serverReference: 'other:1883' } });
    const client = new FakeClient(core, 5);
    client.connect();
    const [connack] = client.take();
    assert.ok(connack?.type === 'connack');
    assert.equal(connack.reasonCode, 0x9c);
    assert.equal(connack.properties?.serverReference, 'other:1883');
    assert.equal(client.ended, true);
  });

  it('a permanent redirect is 0x9D Server moved', () => {
    const { core } = createTestCore({
      serverRedirect: { serverReference: 'new-home:1883', permanent: true },
    });
    const client = new FakeClient(core, 5);
    client.connect();
    const [connack] = client.take();
    assert.ok(connack?.type === 'connack');
    assert.equal(connack.reasonCode, 0x9d);
    assert.equal(connack.properties?.serverReference, 'new-home:1883');
  });

  it('3.1.1 clients, which have no redirect code, get 0x03 Server unavailable', () => {
    const { core } = createTestCore({ serverRedirect: { serverReference: 'other:1883' } });
    const client = new FakeClient(core, 4);
    client.connect();
    const [connack] = client.take();
    assert.ok(connack?.type === 'connack');
    assert.equal(connack.reasonCode, 0x03);
    assert.equal(client.ended, true);
  });

  it('the mqtt.redirect config key maps to the option, and a bad one is named', () => {
    const config = parseConfig(
      'mqtt:\n  redirect:\n    serverReference: other:1883\n    permanent: true\n',
    );
    const plan = configToPlan(config, { baseDir: '/', cwd: '/' });
    assert.deepEqual(plan.options.serverRedirect, {
      serverReference: 'other:1883',
      permanent: true,
    });
    assert.throws(
      () => parseConfig('mqtt:\n  redirect:\n    serverReference: ""\n'),
      (err: Error & { problems?: readonly string[] }) =>
        (err.problems ?? []).some((p) => p.startsWith('mqtt.redirect.serverReference')),
    );
  });
});
