/**
 * Hostile input from Redis: whatever writes garbage into a node's inbox stream, the route
 * announcements, a node's control channel or the retained announcements, the node skips it,
 * counts it (`status().malformed`), logs it throttled, and keeps serving. Two nodes on a real
 * redis-server (the one receiving the garbage with the Redis store, so that it reads the
 * retained announcements too); the garbage is written with XADD and PUBLISH by the test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { serialize } from 'node:v8';
import { BatchNumbers, NUMBER_BYTES, NUMBERED } from '../../src/cluster/batch-number.js';
import { encodeBatch } from '../../src/cluster/envelope.js';
import { ClusterKeys } from '../../src/cluster/keys.js';
import { adoptOwner } from '../../src/cluster/owners.js';
import { takeOverRecoveries } from '../../src/cluster/recovery-takeover.js';
import type { Message } from '../../src/core/index.js';
import { connectClient, endClient, type TestBroker, waitFor } from '../helpers/broker.js';
import { capturingLogger } from '../helpers/capturing-logger.js';
import { testMessage } from '../helpers/message.js';
import { connectCollecting, startNode, startSharedNode, waitForRoute } from './cluster-nodes.js';
import { RedisFixture } from './redis-fixture.js';

const message = (overrides: Record<string, unknown> = {}): Message =>
  testMessage({ topic: 'hostile/x', payload: Buffer.from('x'), ...overrides } as Partial<Message>);

describe('cluster: hostile input from Redis', () => {
  let redis: RedisFixture;
  let target: TestBroker & { nodeId: number };
  let other: TestBroker & { nodeId: number };
  const warnings: string[] = [];

  before(async () => {
    redis = await RedisFixture.start();
    target = await startSharedNode(redis, { logger: capturingLogger(warnings, ['warn']) });
    other = await startNode(redis);
  });

  after(async () => {
    await other.close();
    await target.close();
    await redis.stop();
  });

  /** A message published on `other` reaches a subscriber on `target`: it still serves. */
  async function stillServes(payload: string): Promise<void> {
    const sub = await connectCollecting(target.url, { protocolVersion: 5 });
    await sub.client.subscribeAsync('hostile/#', { qos: 1 });
    await waitForRoute(other, target.nodeId, 'hostile/#');
    const pub = await connectClient(other.url, { protocolVersion: 5 });
    await pub.publishAsync('hostile/ok', payload, { qos: 1 });
    await waitFor(() => sub.messages.some((m) => m.payload === payload), 5000, payload);
    await endClient(pub);
    await endClient(sub.client);
  }

  it('skips malformed, truncated, oversized and wrongly shaped inbox entries, counts them, and still delivers the good entries read with them', async () => {
    const sub = await connectCollecting(target.url, { protocolVersion: 5 });
    await sub.client.subscribeAsync('hostile/#', { qos: 1 });
    const inbox = `pipit:inbox:${target.nodeId}`;
    const valid = encodeBatch([
      { message: message({ payload: Buffer.from('good') }), shareFilters: undefined },
    ]);
    const numbered = Buffer.alloc(NUMBER_BYTES + valid.length);
    valid.copy(numbered, NUMBER_BYTES);
    new BatchNumbers().stamp(numbered, NUMBER_BYTES);
    const entries: Buffer[][] = [
      [Buffer.from('m'), Buffer.from('garbage, not a batch')],
      [Buffer.from('m'), valid.subarray(0, valid.length - 5)], // truncated
      [Buffer.from('m'), Buffer.alloc(2 * 1024 * 1024, 0xff)], // oversized garbage
      [Buffer.from('m'), encodeBatch([{ message: message({ qos: 7 }), shareFilters: undefined }])],
      [
        Buffer.from('m'),
        encodeBatch([{ message: message({ topic: '' }), shareFilters: undefined }]),
      ],
      [Buffer.from('m'), valid, Buffer.from('x'), Buffer.from('y')], // two fields
      // A batch number's prefix (batch-number.ts) cut short, and one with garbage after it.
      [Buffer.from('m'), Buffer.from([NUMBERED, 1, 2, 3])],
      [Buffer.from('m'), Buffer.concat([numbered.subarray(0, NUMBER_BYTES), Buffer.from('junk')])],
      [Buffer.from('m'), valid], // a good one, read in the same XREAD as the garbage
    ];
    const multi = redis.redis.multi();
    for (const fields of entries) multi.xadd(inbox, '*', ...fields);
    await multi.exec();
    await waitFor(() => sub.messages.some((m) => m.payload === 'good'), 5000, 'the good entry');
    const status = target.broker.cluster!.status();
    assert.equal(status.malformed.inbox, 8);
    assert.equal(status.inbox.malformed, 8);
    const lines = warnings.filter((w) => w === 'cluster: malformed inbox input from Redis skipped');
    assert.ok(lines.length >= 1 && lines.length < 8, `throttled log lines: ${lines.length}`);
    await endClient(sub.client);
    await stillServes('after inbox garbage');
  });

  it('skips malformed route announcements, control messages and retained announcements, counts them, and keeps serving', async () => {
    const routes = [
      'null',
      'not json',
      '[]',
      '{"node":"x","add":["a"]}',
      '{"node":300,"add":["a"]}',
      '{"node":1,"add":"a/b"}',
      '{"node":1,"add":[5]}',
      '{"node":1,"add":["a/#/b"]}',
      '{"node":1}',
    ];
    const control = [
      'null',
      '7',
      '{"t":"takeover","req":"r"}',
      '{"t":"adopt","req":"r","from":1}',
      '{"t":"x","req":"r"}',
      // The session move's steps (session-move.ts), each missing or mistyping a field.
      '{"t":"hold","req":"r","from":1}',
      '{"t":"release","req":"r","clientId":"c","from":"one","owner":"1/x","clean":false}',
      // The release hands the owner key over (owner) and says whether the new connection
      // starts clean (clean): each missing, or mistyped.
      '{"t":"release","req":"r","clientId":"c","from":1,"clean":false}',
      '{"t":"release","req":"r","clientId":"c","from":1,"owner":7,"clean":false}',
      '{"t":"release","req":"r","clientId":"c","from":1,"owner":"1/x"}',
      '{"t":"release","req":"r","clientId":"c","from":1,"owner":"1/x","clean":"no"}',
      '{"t":"held","req":"r","session":"yes"}',
      '{"t":"barrier","req":"r","to":999}',
      '{"t":"releaseAll","req":"r","from":1}',
    ];
    const retained = ['null', '{"node":1}', '{"node":1,"topics":[1]}'];
    for (const text of routes) await redis.redis.publish('pipit:routes', text);
    for (const text of control) await redis.redis.publish(`pipit:control:${target.nodeId}`, text);
    for (const text of retained) await redis.redis.publish('pipit:retained', text);
    await waitFor(
      () => {
        const m = target.broker.cluster!.status().malformed;
        return (
          m.routes === routes.length &&
          m.control === control.length &&
          m.retained === retained.length
        );
      },
      5000,
      'every malformed announcement counted',
    );
    assert.ok(
      warnings.includes('cluster: malformed routes input from Redis skipped') &&
        warnings.includes('cluster: malformed control input from Redis skipped') &&
        warnings.includes('cluster: malformed retained input from Redis skipped'),
    );
    await stillServes('after announcement garbage');

    // Well formed but about nothing this node has: answers to no request, a release and a
    // barrier of moves that never started, a marker of no barrier in its inbox. Ignored (a
    // barrier request only makes the node append a marker to the named node's inbox).
    const strays = [
      '{"t":"held","req":"none","session":true}',
      '{"t":"released","req":"none"}',
      `{"t":"release","req":"none","clientId":"nobody","from":${target.nodeId},"owner":"${target.nodeId}/stray","clean":true}`,
      `{"t":"releaseAll","req":"none","clientIds":["nobody"],"from":${target.nodeId}}`,
      `{"t":"barrier","req":"none","to":${target.nodeId}}`,
    ];
    for (const text of strays) await redis.redis.publish(`pipit:control:${target.nodeId}`, text);
    await redis.redis.xadd(`pipit:inbox:${target.nodeId}`, '*', 'b', 'no-such-move');
    await stillServes('after stray control messages');
    assert.equal(target.broker.cluster!.status().malformed.control, control.length);
  });

  it('a recovery’s keys that are not what a node writes (an `adopted:<id>` that is no set, a `recoverer:<id>` of garbage) neither fail an adoption nor a takeover of the recovery', async () => {
    const r = redis.redis;
    const keys = new ClusterKeys('pipit-hostile:');
    // An adoption replaces a wrongly typed `adopted:<id>`: the owner key and the record go together.
    await r.set(keys.owner('h-client'), '7/dead');
    await r.set(keys.adopted(7), 'not a set');
    const record = { key: keys.adopted(7), ttlMs: 60_000 };
    assert.equal(await adoptOwner(r, keys, 'h-client', ['7/dead', '8/me'], record), true);
    assert.equal(await r.get(keys.owner('h-client')), '8/me');
    assert.deepEqual(await r.smembers(keys.adopted(7)), ['h-client']);

    // A takeover with a wrongly typed `adopted:<id>` goes on without its client ids.
    await r.set(keys.recovering(7), 'dead');
    await r.set(keys.recoverer(7), '8/me');
    await r.set(keys.adopted(7), 'not a set');
    const taken = await takeOverRecoveries(r, keys, '8/me', '9/next', 60_000);
    assert.deepEqual(taken, [{ nodeId: 7, instance: 'dead', orphan: undefined, adopted: [] }]);
    assert.equal(await r.get(keys.recoverer(7)), '9/next');

    // Garbage in `recoverer:<id>` matches no recoverer: nothing is taken over.
    await r.set(keys.recoverer(5), 'garbage');
    assert.deepEqual(await takeOverRecoveries(r, keys, 'garbage/', '9/next', 60_000), []);
    assert.deepEqual(await takeOverRecoveries(r, keys, '8/me', '9/next', 60_000), []);
  });

  it('will records of dead nodes that are not what a node writes (`orphan-wills:<id>`, `wills:<id>`) are dropped without failing the removal, and a good record among them is still sent (one with garbage for its verdict too, as one without: these nodes have no hook to deny it)', async () => {
    const r = redis.redis;
    // Two ids no live node holds (node ids are claimed from a random start: a fixed pair
    // would now and then be a live node's own, which is never removed).
    const live = new Set([target.nodeId, other.nodeId]);
    const [d1, d2] = Array.from({ length: 256 }, (_, i) => (70 + i) % 256).filter(
      (id) => !live.has(id),
    ) as [number, number];
    const sub = await connectCollecting(target.url, { protocolVersion: 5 });
    await sub.client.subscribeAsync('hostile/will', { qos: 1 });
    await waitForRoute(other, target.nodeId, 'hostile/will');
    const copy = (clientId: string, verdict?: unknown) =>
      serialize({
        will: { topic: 'hostile/will', payload: Buffer.from(clientId), qos: 1, retain: false },
        client: { clientId, username: undefined, usernameVerified: false, listener: 'x' },
        sessionExpiry: 0,
        ...(verdict === undefined ? {} : { verdict }),
      });
    // Two dead members (no lease): whichever node removes them takes their wills.
    await r.hset(`pipit:wills:${d1}`, 'h-copy', 'not a v8 copy');
    await r.hset(`pipit:orphan-wills:${d1}`, {
      'h-no-bar': 'garbage',
      'h-bad-time': 'soon|garbage',
      'h-bad-copy': `${Date.now()}|\xff\x00garbage`,
      'h-other-id': Buffer.concat([Buffer.from(`${Date.now()}|`), copy('someone-else')]),
      'h-good': Buffer.concat([Buffer.from(`${Date.now()}|`), copy('h-good')]),
      'h-bad-verdict': Buffer.concat([
        Buffer.from(`${Date.now()}|`),
        copy('h-bad-verdict', { toString: 'allow', length: -1 }),
      ]),
    });
    await r.set(`pipit:orphan-wills:${d2}`, 'not a hash');
    await r.rpush(`pipit:wills:${d2}`, 'not a hash');
    await r.hset('pipit:instances', String(d1), 'dead', String(d2), 'dead');
    await r.sadd('pipit:nodes', String(d1), String(d2));
    await waitFor(
      async () =>
        (await r.sismember('pipit:nodes', String(d1))) +
          (await r.sismember('pipit:nodes', String(d2))) ===
        0,
      10_000,
      'the dead members to be removed',
    );
    await waitFor(() => sub.messages.length === 2, 10_000, 'the good wills');
    assert.deepEqual(sub.messages.map((m) => m.payload).sort(), ['h-bad-verdict', 'h-good']);
    // Sent or garbage: no record is left, on either node, to be taken over again.
    await waitFor(
      async () => (await r.keys('pipit:*wills:*')).length === 0,
      10_000,
      'no will record left',
    );
    await endClient(sub.client);
    await stillServes('after garbage will records');
  });
});
