/**
 * Conformance over TCP: what a protocol violation on a connected MQTT 3.1.1 session does. 3.1.1
 * has no DISCONNECT from the server: the connection closes without an answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestBroker } from '../helpers/broker.js';
import { startBroker } from '../helpers/broker.js';
import { connectBytes, hex, pkt, RawClient, str } from '../helpers/raw-client.js';
import { gone, settle } from './wire.js';

describe('conformance: protocol violations (3.1.1)', () => {
  let tb: TestBroker;
  before(async () => {
    tb = await startBroker();
  });
  after(async () => {
    await tb.close();
  });

  const violations: [string, Buffer][] = [
    ['a second CONNECT', connectBytes(4, 'again')],
    ['a PUBLISH to a topic with a wildcard', pkt(0x30, `${str('a/+')} 61`)],
    ['a PINGRESP, which only servers send', hex('d0 00')],
    ['an AUTH, which 3.1.1 does not have', hex('f0 00')],
    ['a SUBSCRIBE with QoS 3', pkt(0x82, `0001 ${str('a')} 03`)],
  ];

  for (const [name, bytes] of violations) {
    it(`[MQTT-4.8.0-1] (3.1.1) ${name} closes the connection without an answer; other clients are not affected`, async () => {
      const bystander = await RawClient.connected(tb.port, 4, `bystander-${name}`);
      const client = await RawClient.connected(tb.port, 4, `violator-${name}`);
      client.write(bytes);
      await client.waitClose();
      assert.deepEqual(client.received, []);
      await gone(tb, `violator-${name}`);
      await settle(bystander);
      bystander.destroy();
    });
  }
});
