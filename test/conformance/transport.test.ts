/**
 * Conformance: the transports. Over TCP and over WebSocket, MQTT.js clients of both versions
 * exchange QoS 1 messages that arrive complete and in order.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestBroker } from '../helpers/broker.js';
import { connectClient, endClient, nextMessages, startBroker } from '../helpers/broker.js';

describe('conformance: transports', () => {
  let tb: TestBroker;
  let wsUrl: string;
  before(async () => {
    tb = await startBroker();
    const ws = await tb.broker.listen({ type: 'ws', port: 0, host: '127.0.0.1' });
    wsUrl = `ws://127.0.0.1:${ws.port}/mqtt`;
  });
  after(async () => {
    await tb.close();
  });

  for (const transport of ['tcp', 'ws'] as const) {
    for (const protocolVersion of [4, 5] as const) {
      it(`[MQTT-7.1.1-1] (3.1.1) [MQTT-4.2.0-1] (5.0) ${transport}, v${protocolVersion}: 100 QoS 1 messages arrive complete and in order`, async () => {
        const url = transport === 'tcp' ? tb.url : wsUrl;
        const options = { protocolVersion };
        const subscriber = await connectClient(url, options);
        const publisher = await connectClient(url, options);
        const topic = `transport/${transport}/${protocolVersion}`;
        await subscriber.subscribeAsync(topic, { qos: 1 });
        const got = nextMessages(subscriber, 100);
        for (let i = 0; i < 100; i++) void publisher.publishAsync(topic, String(i), { qos: 1 });
        const messages = await got;
        assert.deepEqual(
          messages.map((m) => Number(m.payload.toString())),
          Array.from({ length: 100 }, (_, i) => i),
        );
        await Promise.all([endClient(subscriber), endClient(publisher)]);
      });
    }
  }
});
