/**
 * The new limits in the core on a fake clock: the publish rate (v5 QoS 1/2 refused with
 * 0x97, QoS 0 dropped, v3 QoS 1/2 delayed until the token is due), topic size checks and
 * the retained byte budget.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { topicLimitProblem } from '../../src/core/limits.js';
import { MemoryBudget } from '../../src/core/memory-budget.js';
import { TokenBucket } from '../../src/core/rate-limit.js';
import type { ProtocolVersion, QoS } from '../../src/protocol/index.js';
import { createTestCore, FakeClient } from '../helpers/core-harness.js';

function publisher(version: ProtocolVersion, rate: number) {
  const { core, clock } = createTestCore({ maxPublishRate: rate });
  const client = new FakeClient(core, version);
  client.connect();
  client.take();
  let id = 0;
  const publish = (qos: QoS): void =>
    client.send({
      type: 'publish',
      topic: 't',
      payload: Buffer.from('x'),
      qos,
      retain: false,
      dup: false,
      ...(qos > 0 ? { packetId: ++id } : {}),
    });
  return { core, clock, client, publish };
}

describe('limits in the core', () => {
  it('a token bucket allows a burst of one second, then the rate', () => {
    const bucket = new TokenBucket(10, 0);
    let taken = 0;
    for (let i = 0; i < 20; i++) if (bucket.tryTake(0)) taken++;
    assert.equal(taken, 10);
    assert.equal(bucket.tryTake(50), false, 'half a token after 50 ms');
    assert.equal(bucket.tryTake(100), true, 'one token after 100 ms');
  });

  it('maxPublishRate, MQTT 5: QoS 1 and 2 over the rate get PUBACK/PUBREC 0x97 and are not routed', () => {
    const { core, clock, client, publish } = publisher(5, 2);
    for (let i = 0; i < 3; i++) publish(1);
    publish(2);
    const codes = client.take().map((p) => `${p.type} ${'reasonCode' in p ? p.reasonCode : ''}`);
    assert.deepEqual(codes, ['puback 16', 'puback 16', 'puback 151', 'pubrec 151']);
    assert.equal(core.metrics.refused['publish-rate'], 2);
    assert.equal(core.metrics.messagesReceived, 2);
    clock.advance(500);
    publish(1);
    assert.deepEqual(
      client.ofType('puback').map((p) => p.reasonCode),
      [16],
      'a token came back',
    );
    assert.equal(client.connection.state, 'connected');
  });

  it('maxPublishRate: QoS 0 over the rate is dropped and counted', () => {
    const { core, publish } = publisher(4, 3);
    for (let i = 0; i < 10; i++) publish(0);
    assert.equal(core.metrics.messagesReceived, 3);
    assert.equal(core.metrics.dropped['rate-limited'], 7);
    assert.equal(core.metrics.refused['publish-rate'], 7);
  });

  it('maxPublishRate, MQTT 3.1.1: QoS 1 over the rate is delayed (reading paused), never refused', async () => {
    const { core, clock, client, publish } = publisher(4, 1);
    publish(1);
    publish(1);
    publish(1);
    assert.equal(client.ofType('puback').length, 1, 'the first passes');
    assert.equal(client.paused, true, 'the connection stopped reading');
    for (let i = 0; i < 2; i++) {
      clock.advance(1000);
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(client.ofType('puback').length, 3, 'the others follow as tokens come back');
    assert.equal(client.paused, false);
    assert.equal(core.metrics.refused['publish-throttled'], 2);
    assert.equal(client.connection.state, 'connected');
  });

  it('topic limits: bytes and levels, with a fast path for short topics', () => {
    assert.equal(topicLimitProblem('a/b/c', 5, 3), undefined);
    assert.equal(topicLimitProblem('a/b/c/', 5, 10), 'topic-length');
    assert.equal(topicLimitProblem('a/b/c/d', 100, 3), 'topic-levels');
    assert.equal(topicLimitProblem('ü'.repeat(3), 5, 10), 'topic-length', 'UTF-8 bytes count');
  });

  it('maxRetainedBytes: topics, payloads and overhead count; a replacement that would pass it removes the older message', () => {
    const cost = (topic: string, size: number): number => MemoryBudget.retainedCost(topic, size);
    const { core } = createTestCore({ maxRetainedBytes: cost('a', 60) + cost('b', 40) });
    const client = new FakeClient(core, 5);
    client.connect();
    const retain = (topic: string, size: number): void =>
      client.send({
        type: 'publish',
        topic,
        payload: Buffer.alloc(size),
        qos: 0,
        retain: true,
        dup: false,
      });
    retain('a', 60);
    retain('b', 40);
    assert.equal(core.retained.bytes, cost('a', 60) + cost('b', 40));
    assert.equal(core.metrics.memory.retainedBytes, core.retained.bytes, 'charged to the budget');
    retain('a', 70);
    assert.equal(core.retained.size, 1, 'a was removed rather than kept stale');
    assert.equal(core.retained.bytes, cost('b', 40));
    assert.equal(core.metrics.dropped['retained-bytes'], 1);
    retain('b', 0);
    assert.equal(core.retained.bytes, 0, 'an empty payload clears and frees');
    assert.equal(core.metrics.memory.retainedBytes, 0);
  });
});
