/**
 * The inbox is trimmed in steps, not after every committed read: one XTRIM per
 * TRIM_ENTRIES entries read, and one when the inbox goes idle, each only up to the position
 * the store has committed (so what a survivor would read after a death is never trimmed).
 * A persistent QoS 1 subscriber makes every read write to the store, hence commit its
 * position: before this, each of those commits was followed by an XTRIM of its own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import {
  type CollectingClient,
  connectCollecting,
  startSharedNode,
  type TestNode,
  waitForRoute,
} from './cluster-nodes.js';
import { RedisFixture } from './redis-fixture.js';

/** Messages sent one at a time (each its own forward batch, read and commit). */
const MESSAGES = 200;

describe('cluster: inbox trims', () => {
  let redis: RedisFixture;
  let a: TestNode;
  let b: TestNode;
  let sub: CollectingClient;

  before(async () => {
    redis = await RedisFixture.start();
    a = await startSharedNode(redis);
    b = await startSharedNode(redis);
  });

  after(async () => {
    if (sub !== undefined) await endClient(sub.client, true);
    await a?.close();
    await b?.close();
    await redis?.stop();
  });

  it('trims once per many committed reads, and up to the committed position once idle', async () => {
    sub = await connectCollecting(b.url, {
      protocolVersion: 5,
      clientId: 'trim-sub',
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    });
    await sub.client.subscribeAsync('trim/#', { qos: 1 });
    await waitForRoute(a, b.nodeId, 'trim/#');
    const pub = await connectClient(a.url, { protocolVersion: 5 });
    const trimsBefore = await redis.commandCalls('xtrim');
    for (let i = 0; i < MESSAGES; i++) await pub.publishAsync('trim/x', `m${i}`, { qos: 1 });
    await endClient(pub);
    await waitFor(() => sub.messages.length >= MESSAGES, 15_000, 'every message on b');
    assert.deepEqual(
      sub.messages.map((m) => m.payload),
      Array.from({ length: MESSAGES }, (_, i) => `m${i}`),
    );
    const inbox = `pipit:inbox:${b.nodeId}`;
    // Idle: the position committed up to the last entry, the stream trimmed up to it (the
    // entry at the position stays).
    await waitFor(async () => (await redis.redis.xlen(inbox)) === 1, 15_000, 'the idle trim');
    const [last] = await redis.redis.xrevrange(inbox, '+', '-', 'COUNT', 1);
    const instance = await redis.redis.hget('pipit:instances', String(b.nodeId));
    assert.equal(await redis.redis.get(`pipit:cursor:inbox:${instance}`), last![0]);
    const trims = (await redis.commandCalls('xtrim')) - trimsBefore;
    // One per TRIM_ENTRIES (64) entries and one per idle spell: far fewer than one per read,
    // which made 200 here (the bound leaves room for a few idle spells on a loaded machine).
    assert.ok(trims >= 1 && trims <= 20, `${trims} XTRIM calls for ${MESSAGES} committed reads`);
  });
});
