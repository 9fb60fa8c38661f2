/**
 * Hostile load against the memory budget across restarts with the SQLite store (issue #16
 * items 2 and 3): the broker starts again, serves, and keeps what was within the budget;
 * a store holding more than the budget (written by an older version, or under a larger
 * budget) does not crash-loop it: it starts, serves, and says what it dropped or refused.
 * Each case checks the broker is alive, its RSS bound, and a fresh client served within a
 * second during the attack and after the restart.
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
  reconfigure,
  retainedCount,
  retainHugeTopics,
  servedDuring,
  TOPIC_BYTES,
  withHeapLimit,
} from './budget-attacks.js';
import { assertRssGrowthBelow, assertServed, type LoadBroker } from './harness.js';

const start = brokerStarter();

/** The `restored state from the store` log line of the broker's current run. */
function restored(broker: LoadBroker): Record<string, unknown> {
  const line = logLines(broker, 'restored state from the store')[0];
  assert.ok(line, 'the broker says what it restored');
  return line;
}

describe('hostile load: the memory budget across SQLite restarts', () => {
  it('a SQLite store holding 390 MB of retained topics (more than the heap) starts within the budget, says what it dropped, and serves; no crash loop', async () => {
    const big =
      'storage:\n  durability: none\nlimits:\n  memoryBudget: 2GiB\n  maxRetainedBytes: 2GiB\n';
    const broker = await start({ sqlite: true, config: big });
    assert.equal(await retainHugeTopics(broker.port, 6000, TOPIC_BYTES), 6000);
    await broker.stop();

    // As if written by an older version: the store now holds more than this broker may.
    reconfigure(broker, 'storage:\n  durability: none\n');
    await withHeapLimit(256, () => broker.restart());
    const budget = logLines(broker, 'memory budget')[0]?.memoryBudget as number;
    const warning = logLines(broker, 'the store held more than the memory budget')[0];
    assert.ok(warning, 'the log says what did not fit');
    const restored = logLines(broker, 'restored state from the store')[0]?.retained as number;
    assert.equal(restored + (warning.droppedRetained as number), 6000);
    assert.ok(restored > 0 && restored * HUGE_RETAINED_COST <= budget, `${restored} restored`);
    await assertServed(broker, 'over-budget-store');
    assertRssGrowthBelow(broker, 295, 'restarted on an over-budget store');

    // What did not fit was deleted: the next start restores the same and drops nothing.
    await withHeapLimit(256, () => broker.crashAndRestart());
    assert.equal(logLines(broker, 'restored state from the store')[0]?.retained, restored);
    assert.equal(logLines(broker, 'the store held more than the memory budget').length, 0);
    await assertServed(broker, 'over-budget-store-again');
    assert.equal(await retainedCount(broker.port, 'bob/#', restored), restored);
    const rss = assertRssGrowthBelow(broker, 295, 'second start');
    await broker.stop();
    console.log(`# over-budget store: ${restored} of 6000 restored, rss ${rss.toFixed(0)} MiB`);
  });

  it('1,000 offline persistent sessions and 1,000 QoS 1 publishes with SQLite: maxQueuedMessagesTotal keeps 200,000 on disk; they survive a restart; a store over a lowered cap starts and refuses new ones', async () => {
    const config = (cap: number): string =>
      `storage:\n  durability: none\nlimits:\n  maxQueuedMessagesTotal: ${cap}\n`;
    const broker = await start({ sqlite: true, config: config(200_000) });
    const sessions = await persistentSubscribers(broker.port, 'q', 1000, () => ['q/#']);
    assert.equal(sessions.connack.get(0), 1000);
    const { checks } = await servedDuring(
      broker,
      'stored-queues',
      publishPaced(broker.port, 'q/x', 1000, 10),
    );
    assert.ok(logLines(broker, 'message not queued: maxQueuedMessagesTotal reached').length >= 1);
    assertRssGrowthBelow(broker, 145, 'after 1M queued copies offered');

    await broker.restart();
    const memory = restored(broker).memory as Record<string, number>;
    assert.equal(restored(broker).sessions, 1000);
    assert.equal(memory.queuedMessages, 200_000, 'every stored message is still there');
    await assertServed(broker, 'stored-queues-restarted');
    // One subscriber comes back: its 200 messages are waiting.
    const { client, code } = await connectAs(broker.port, 4, 'q0', { clean: false });
    assert.equal(code, 0);
    for (let i = 0; i < 200; i++) {
      const message = await client.next('publish', 10_000);
      client.send({ type: 'puback', packetId: message.packetId! });
    }
    client.destroy();
    assertRssGrowthBelow(broker, 145, 'restarted with 200,000 stored messages');

    // A lower cap than the store holds (as after an upgrade): it starts, keeps them, says so,
    // and new messages for queues are dropped until they drain.
    reconfigure(broker, config(50_000));
    await broker.restart();
    assert.ok(logLines(broker, 'stored queues hold more than maxQueuedMessagesTotal').length === 1);
    await assertServed(broker, 'over-cap-store');
    await publishPaced(broker.port, 'q/x', 5, 10);
    assert.ok(logLines(broker, 'message not queued: maxQueuedMessagesTotal reached').length >= 1);
    assertRssGrowthBelow(broker, 145, 'over-cap store');
    await broker.stop();
    console.log(`# stored queues: ${checks} served checks during`);
  });

  it('300 client ids x 500 subscriptions with SQLite: what the budget granted survives kill -9; a store over a lowered budget drops whole sessions, says so, and serves', async () => {
    const config = (budget: string): string =>
      `storage:\n  durability: none\nlimits:\n  memoryBudget: ${budget}\n`;
    const broker = await start({ sqlite: true, config: config('24MiB') });
    const filters = (i: number): string[] =>
      Array.from({ length: 500 }, (_, j) => `tenant/${i}/device/${j}/#`);
    const { result, checks } = await servedDuring(
      broker,
      'stored-subscriptions',
      persistentSubscribers(broker.port, 's', 300, filters),
    );
    const admitted = result.connack.get(0) ?? 0;
    assert.ok(admitted > 0 && admitted < 300, `${admitted} sessions admitted`);
    assert.ok((result.suback.get(0x80) ?? 0) > 0);
    assertRssGrowthBelow(broker, 95, 'after 150k subscriptions asked');

    await broker.crashAndRestart();
    assert.equal(restored(broker).sessions, admitted);
    await assertServed(broker, 'stored-subscriptions-restarted');
    // s0's subscriptions were restored: a message to one of them is queued and delivered.
    await publishPaced(broker.port, 'tenant/0/device/7/temperature', 1, 4);
    const { client, code } = await connectAs(broker.port, 4, 's0', { clean: false });
    assert.equal(code, 0);
    assert.equal((await client.next('publish', 10_000)).topic, 'tenant/0/device/7/temperature');
    client.destroy();

    reconfigure(broker, config('8MiB'));
    await broker.restart();
    const warning = logLines(broker, 'the store held more than the memory budget')[0];
    assert.ok(warning, 'the log says what did not fit');
    const dropped = warning.droppedSessions as number;
    assert.ok(dropped > 0);
    assert.equal((restored(broker).sessions as number) + dropped, admitted);
    await assertServed(broker, 'over-budget-subscriptions');
    assertRssGrowthBelow(broker, 95, 'over-budget store');
    await broker.stop();
    console.log(`# stored subscriptions: ${admitted} sessions, ${checks} served checks during`);
  });
});
