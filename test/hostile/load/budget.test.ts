/**
 * Hostile load against the memory budget (issue #16 items 2 and 3), on the real `pipit
 * broker` in a child process: retained messages with 65,000-byte topics, many persistent
 * sessions with queued messages, many client ids with many subscriptions, and the same with
 * SQLite across a restart (budget-restart.test.ts has the other restart cases). Each case checks
 * that the broker stays alive, that its RSS stays under a stated bound, and that a fresh
 * client is served within a second during the attack and after it.
 *
 * Sizes: small budgets in the config make the limits bite in seconds; without the budget the
 * same attacks grow the broker by several times the bounds (see the report in
 * bench/RESULTS.md "Memory budget").
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  brokerStarter,
  connectAs,
  HUGE_RETAINED_COST,
  logLines,
  persistentSubscribers,
  publishPaced,
  retainedCount,
  retainHugeTopics,
  servedDuring,
  TOPIC_BYTES,
  withHeapLimit,
} from './budget-attacks.js';
import { assertRssGrowthBelow, assertServed } from './harness.js';

const start = brokerStarter();

describe('hostile load: the memory budget', () => {
  it('retained messages with 65,000-byte topics count their topics: maxRetainedBytes stops them (2,500 sent, 246 kept), also across a SQLite restart', async () => {
    const maxRetainedBytes = 16 * 1024 * 1024;
    const keep = Math.floor(maxRetainedBytes / HUGE_RETAINED_COST);
    const broker = await start({
      sqlite: true,
      config: `storage:\n  durability: none\nlimits:\n  maxRetainedBytes: ${maxRetainedBytes}\n`,
    });
    const { result: acked, checks } = await servedDuring(
      broker,
      'huge-topics',
      retainHugeTopics(broker.port, 2500, TOPIC_BYTES),
    );
    assert.equal(acked, 2500);
    assert.ok(checks >= 1);
    const rss = assertRssGrowthBelow(broker, 115, 'after 2,500 retained 65 KB topics');
    await assertServed(broker, 'huge-topics-after');
    assert.equal(await retainedCount(broker.port, 'bob/#', keep), keep);
    const refusal = logLines(broker, 'retained message refused: maxRetainedBytes reached');
    assert.ok(refusal.length >= 1, 'the refusal is logged');

    await broker.restart();
    assert.equal(logLines(broker, 'restored state from the store')[0]?.retained, keep);
    await assertServed(broker, 'huge-topics-restarted');
    assert.equal(await retainedCount(broker.port, 'bob/#', keep), keep, 'still there');
    assertRssGrowthBelow(broker, 115, 'restarted with the retained messages');
    await broker.stop();
    console.log(
      `# huge retained topics: rss ${rss.toFixed(0)} MiB, ${checks} served checks during`,
    );
  });

  it('the default budget is half the heap limit: under a 256 MiB heap the same attack is refused before the heap fills (6,000 x 65 KB = 390 MB sent)', async () => {
    const broker = await withHeapLimit(256, () => start({}));
    const line = logLines(broker, 'memory budget')[0];
    assert.equal(line?.from, 'half the heap limit');
    const heapLimit = line?.heapLimit as number;
    assert.ok(
      heapLimit < 400 * 2 ** 20,
      `heap limit ${heapLimit}: --max-old-space-size=256 applies`,
    );
    assert.equal(line?.memoryBudget, Math.floor(heapLimit / 2));
    const { checks } = await servedDuring(
      broker,
      'default-budget',
      retainHugeTopics(broker.port, 6000, TOPIC_BYTES),
    );
    assert.ok(broker.alive, 'alive after 390 MB of topics');
    const rss = assertRssGrowthBelow(broker, 295, 'after 6,000 retained 65 KB topics');
    assert.ok(logLines(broker, 'retained message not kept: memoryBudget reached').length >= 1);
    await assertServed(broker, 'default-budget-after');
    await broker.stop();
    console.log(`# default budget: rss ${rss.toFixed(0)} MiB, ${checks} served checks during`);
  });

  it('2,000 offline persistent sessions on q/# and 2,000 QoS 1 publishes (4M queued copies): the budget drops what does not fit; new persistent sessions get CONNACK 0x97 / v3 0x03, clean ones are served', async () => {
    const broker = await start({ config: 'limits:\n  memoryBudget: 32MiB\n' });
    const subscribers = await persistentSubscribers(broker.port, 'q', 2000, () => ['q/#']);
    assert.equal(subscribers.connack.get(0), 2000);
    const { checks } = await servedDuring(
      broker,
      'queued',
      publishPaced(broker.port, 'q/x', 2000, 10),
    );
    const rss = assertRssGrowthBelow(broker, 145, 'after 4M queued copies offered');
    assert.ok(logLines(broker, 'message not queued: memoryBudget reached').length >= 1);
    // The clean sessions that came and went (publisher, checks) freed a little room: a few
    // new persistent sessions may fit in it, then they are refused.
    for (const [version, code] of [
      [5, 0x97],
      [4, 0x03],
    ] as const) {
      let answer = 0;
      for (let i = 0; i < 20 && answer === 0; i++) {
        const late = await connectAs(broker.port, version, `late-v${version}-${i}`, {
          clean: false,
          ...(version === 5 ? { properties: { sessionExpiryInterval: 600 } } : {}),
        });
        answer = late.code;
        if (answer !== 0) await late.client.waitClose(5000);
        late.client.destroy();
      }
      assert.equal(answer, code, `a new persistent session (v${version}) is refused`);
    }
    await assertServed(broker, 'queued-after');
    await broker.stop();
    console.log(`# queued: rss ${rss.toFixed(0)} MiB, ${checks} served checks during`);
  });

  it('800 client ids x 500 subscriptions (400k): SUBACK 0x80 (v3) / 0x97 (v5) once the budget is full; clean clients still subscribe', async () => {
    const broker = await start({ config: 'limits:\n  memoryBudget: 24MiB\n' });
    const filters = (i: number): string[] =>
      Array.from({ length: 500 }, (_, j) => `tenant/${i}/device/${j}/#`);
    const { result, checks } = await servedDuring(
      broker,
      'subscriptions',
      persistentSubscribers(broker.port, 's', 800, filters),
    );
    const granted = result.suback.get(1) ?? 0;
    const refused = result.suback.get(0x80) ?? 0;
    const sessions = result.connack.get(0) ?? 0;
    // Once subscriptions fill the durable share, the next filters get 0x80 and the next
    // persistent sessions CONNACK 0x03: far fewer than 400k subscriptions are held.
    assert.equal(sessions + (result.connack.get(0x03) ?? 0), 800);
    assert.equal(granted + refused, sessions * 500);
    assert.ok(refused > 0 && granted < 50_000, `${granted} granted, ${refused} refused`);
    const rss = assertRssGrowthBelow(broker, 95, 'after 400k subscriptions asked');
    const { client } = await connectAs(broker.port, 5, 's0', {
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    client.send({
      type: 'subscribe',
      packetId: 9,
      subscriptions: [
        { filter: 'one/more', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    assert.deepEqual((await client.next('suback')).reasonCodes, [0x97], 'v5: Quota exceeded');
    client.destroy();
    await assertServed(broker, 'subscriptions-after');
    await broker.stop();
    console.log(
      `# subscriptions: ${sessions} sessions, ${granted} granted, rss ${rss.toFixed(0)} MiB, ${checks} checks`,
    );
  });
});
