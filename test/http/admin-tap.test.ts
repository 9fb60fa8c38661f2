/**
 * The admin API's live routes over real HTTP and MQTT: the live tap (`GET /api/v1/tap`, a
 * server-sent events stream of the messages published on this node that match a filter), its
 * rate cap and its cap on open taps, that it ends with its client and is no MQTT client, its
 * bad requests; and `GET /api/v1/runtime`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { SqliteStore } from '../../src/storage/index.js';
import {
  type AdminApiHarness,
  assertProblem,
  FULL_TOKEN,
  READ_TOKEN,
  startAdminApi,
} from '../helpers/admin-http.js';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import { recordingLogger } from '../helpers/http.js';
import { openSse, type SseStream } from '../helpers/sse.js';

let harness: AdminApiHarness | undefined;
const streams: SseStream[] = [];
const mqttClients: MqttClient[] = [];

afterEach(async () => {
  for (const stream of streams.splice(0)) stream.close();
  for (const client of mqttClients.splice(0)) await endClient(client, true);
  await harness?.close();
  harness = undefined;
});

async function tap(filter: string, token = FULL_TOKEN): Promise<SseStream> {
  const url = `${harness!.base}/api/v1/tap?filter=${encodeURIComponent(filter)}`;
  const stream = await openSse(url, token);
  streams.push(stream);
  return stream;
}

/** Listeners of the broker's `published` event: the hub's one while a tap is open. */
function publishedListeners(): number {
  return harness!.tb.broker.listenerCount('published');
}

describe('admin API: the live tap', () => {
  it('streams the messages published after it opened that match its filter, from clients and the host', async () => {
    harness = await startAdminApi();
    const stream = await tap('tap/+/temp');
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get('content-type') ?? '', /^text\/event-stream/);
    const ready = await stream.next((e) => e.event === 'ready', 'the ready event');
    assert.deepEqual(ready.data, { filter: 'tap/+/temp', maxRate: 50 });
    const client = await connectClient(harness.tb.url, { clientId: 'tap-pub', protocolVersion: 5 });
    mqttClients.push(client);
    await client.publishAsync('tap/kitchen/humidity', 'not this one', { qos: 1 });
    await client.publishAsync('tap/kitchen/temp', '21.5', { qos: 1, retain: true });
    await harness.tb.broker.publish({ topic: 'tap/hall/temp', payload: Buffer.from([0, 255]) });
    const messages = () => stream.events.filter((e) => e.event === 'message');
    await waitFor(() => messages().length >= 2, 10_000, 'two tapped messages');
    const [first, second] = messages().map((e) => e.data);
    assert.equal(first.topic, 'tap/kitchen/temp');
    assert.equal(Buffer.from(first.payloadBase64, 'base64').toString(), '21.5');
    assert.equal(first.qos, 1);
    assert.equal(first.retain, true);
    assert.equal(first.publisherClientId, 'tap-pub');
    assert.equal(first.payloadBytes, 4);
    assert.equal(first.payloadTruncated, false);
    assert.equal(second.topic, 'tap/hall/temp');
    assert.deepEqual([...Buffer.from(second.payloadBase64, 'base64')], [0, 255]);
    assert.equal(second.publisherClientId, null);
    const stats = await stream.next(
      (e) => e.event === 'stats' && e.data.sent === 2,
      'stats with the two sent',
    );
    assert.deepEqual(stats.data, { sent: 2, droppedRate: 0, droppedSlow: 0 });
  });

  it('sends at most maxRate messages a second and counts the rest as dropped', async () => {
    let now = 1_000_000;
    harness = await startAdminApi({ tap: { maxRate: 50, now: () => now } });
    const stream = await tap('burst/#');
    await stream.next((e) => e.event === 'ready', 'the ready event');
    // The tap's clock stands still: the whole burst falls in one second of its rate window.
    await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        harness!.tb.broker.publish({ topic: `burst/${i}`, payload: String(i) }),
      ),
    );
    const stats = await stream.next(
      (e) => e.event === 'stats' && e.data.sent + e.data.droppedRate === 500,
      'stats counting the burst',
    );
    assert.deepEqual(stats.data, { sent: 50, droppedRate: 450, droppedSlow: 0 });
    const shown = stream.events.filter((e) => e.event === 'message');
    assert.equal(shown.length, 50);
    assert.deepEqual(
      shown.map((e) => e.data.topic),
      Array.from({ length: 50 }, (_, i) => `burst/${i}`),
    );
    // The next second opens a new window.
    now += 1000;
    await harness.tb.broker.publish({ topic: 'burst/after', payload: 'x' });
    await stream.next(
      (e) => e.event === 'message' && e.data.topic === 'burst/after',
      'burst/after',
    );
  });

  it('refuses more than maxTaps open taps (503), and frees a place when a client goes away', async () => {
    harness = await startAdminApi({ tap: { maxTaps: 2 } });
    const first = await tap('a/#');
    await tap('b/#');
    const third = await fetch(`${harness.base}/api/v1/tap?filter=c`, {
      headers: { authorization: `Bearer ${FULL_TOKEN}` },
    });
    assert.equal(third.status, 503);
    const problem = (await third.json()) as { type: string; detail: string };
    assert.equal(problem.type, 'urn:pipit:problem:busy');
    assert.match(problem.detail, /2 taps are open, the most this broker allows/);
    assert.equal(third.headers.get('retry-after'), '5');
    first.close();
    await waitFor(
      async () => {
        const again = await fetch(`${harness!.base}/api/v1/tap?filter=c`, {
          headers: { authorization: `Bearer ${FULL_TOKEN}` },
        });
        if (again.status === 200) {
          await again.body?.cancel();
          return true;
        }
        await again.body?.cancel();
        return false;
      },
      10_000,
      'a place for a third tap',
    );
  });

  it('ends with its client: the broker stops listening once every tap is gone, and a tap is no MQTT client', async () => {
    const logger = recordingLogger();
    harness = await startAdminApi({ logger });
    assert.equal(publishedListeners(), 0);
    const a = await tap('x/#');
    const b = await tap('y/#');
    await a.next((e) => e.event === 'ready', 'a ready');
    await b.next((e) => e.event === 'ready', 'b ready');
    assert.equal(publishedListeners(), 1, 'one listener for every tap');
    const counters = (await harness.call('GET', '/counters')).body;
    assert.equal(counters.connectionsCurrent, 0);
    assert.equal(counters.connectionsOpen, 0);
    assert.deepEqual((await harness.call('GET', '/clients')).body.items, []);
    a.close();
    b.close();
    await waitFor(() => publishedListeners() === 0, 10_000, 'the published listener removed');
    // Opening is a command of a full token (logged with its name), closing says what it sent.
    const opened = logger.lines.filter((l) => l.message === 'admin API: tap');
    assert.equal(opened.length, 2);
    assert.equal(opened[0]!.fields.token, 'ops');
    const closed = logger.lines.filter((l) => l.message === 'admin API: tap closed');
    assert.deepEqual(closed.map((l) => l.fields.filter).sort(), ['x/#', 'y/#']);
    assert.deepEqual(closed[0]!.fields.sent, 0);
  });

  it('maxTaps 0 turns the tap off (503, saying so)', async () => {
    harness = await startAdminApi({ tap: { maxTaps: 0 } });
    assertProblem(
      await harness.call('GET', '/tap?filter=%23'),
      503,
      'busy',
      /the live tap is off on this broker \(adminApi\.tap\.maxTaps: 0\)/,
    );
    assert.equal(publishedListeners(), 0);
  });

  it('refuses a read-only token (403), a missing or malformed filter (400)', async () => {
    harness = await startAdminApi();
    assertProblem(
      await harness.call('GET', '/tap?filter=a', { token: READ_TOKEN }),
      403,
      'forbidden',
      /read-only/,
    );
    assertProblem(await harness.call('GET', '/tap'), 400, 'bad-request', /filter is required/);
    assertProblem(
      await harness.call('GET', '/tap?filter=a%2F%23%2Fb'),
      400,
      'bad-request',
      /"a\/#\/b" is not a valid topic filter/,
    );
    assert.equal(publishedListeners(), 0);
  });
});

describe('admin API: runtime figures', () => {
  it('GET /runtime reports the event-loop delay per window and the memory', async () => {
    harness = await startAdminApi();
    const first = await harness.call('GET', '/runtime', { token: READ_TOKEN });
    assert.equal(first.status, 200);
    assert.ok(first.body.rssBytes > 0);
    assert.ok(first.body.heapUsedBytes > 0);
    assert.equal(typeof first.body.eventLoopDelayMs.p99, 'number');
    await waitFor(
      async () => (await harness!.call('GET', '/runtime')).body.windowMs >= 1000,
      10_000,
      'a complete window',
    );
    const later = (await harness.call('GET', '/runtime')).body;
    assert.ok(later.eventLoopDelayMs.max >= later.eventLoopDelayMs.mean);
    assert.ok(later.eventLoopDelayMs.mean > 0, 'the loop is sampled');
  });

  it("GET /runtime counts the store's commits and their seconds (null without a timed store)", async () => {
    harness = await startAdminApi({}, { persistence: { kind: 'memory' } });
    assert.equal((await harness.call('GET', '/runtime')).body.storeCommits, null);
    await harness.close();
    const dataDir = mkdtempSync(join(tmpdir(), 'pipit-runtime-'));
    try {
      harness = await startAdminApi(
        {},
        { store: new SqliteStore({ dataDir, durability: 'fsync' }) },
      );
      const before = (await harness.call('GET', '/runtime')).body.storeCommits;
      await harness.tb.broker.publish({ topic: 'kept/1', payload: 'x', retain: true, qos: 1 });
      await waitFor(
        async () =>
          (await harness!.call('GET', '/runtime')).body.storeCommits.commits > before.commits,
        10_000,
        'a commit counted',
      );
      const after = (await harness.call('GET', '/runtime')).body.storeCommits;
      assert.ok(after.batchSecondsTotal > before.batchSecondsTotal);
      assert.ok(after.commitSecondsTotal >= before.commitSecondsTotal);
    } finally {
      await harness?.close();
      harness = undefined;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
