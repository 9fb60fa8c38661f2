import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTestCore, FakeClient, flush } from '../helpers/core-harness.js';

describe('core: a hook that publishes during a fan-out', () => {
  it('does not cut the outer fan-out short, and its message is routed after it', async () => {
    const { core } = createTestCore();
    const subscribers = ['s1', 's2', 's3'].map((id) => {
      const c = new FakeClient(core, 5);
      c.connect({ clientId: id });
      c.send({
        type: 'subscribe',
        packetId: 1,
        subscriptions: [
          { filter: 'in/#', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
          { filter: 'audit', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        ],
      });
      return c;
    });
    let audits = 0;
    core.addHook({
      onDelivered(_clientId, message) {
        // Publishing from inside delivery: one audit message per delivered 'in/' message.
        if (message.topic.startsWith('in/') && audits++ === 0) {
          void core.publishFromHost({ topic: 'audit', payload: 'seen' });
        }
      },
    });
    await core.publishFromHost({ topic: 'in/x', payload: 'hello' });
    await flush();
    for (const c of subscribers) {
      const topics = c.ofType('publish').map((p) => p.topic);
      assert.deepEqual(topics, ['in/x', 'audit'], `${c.connection.client.clientId} got ${topics}`);
    }
  });
});
