/**
 * The `$SYS` publisher on a fake clock: everything at start, then every `sysInterval` only
 * what changed (uptime always), retained at QoS 2, and nothing once the broker closed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBroker, type Message } from '../../src/index.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** A broker on a fake clock whose `$SYS` publications are recorded by topic. */
async function sysBroker(sysInterval: number) {
  const clock = new FakeClock();
  const broker = createBroker({ clock, sysInterval });
  const published: Message[] = [];
  // $SYS updates are no 'published' events (see the integration test): record what the
  // publisher hands the core on its way in, then let it through.
  const core = broker.core;
  const publishOwn = core.publishOwn.bind(core);
  core.publishOwn = (message: Message): number => {
    if (message.topic.startsWith('$SYS/')) published.push(message);
    return publishOwn(message);
  };
  await broker.start();
  const take = (): Map<string, string> => {
    const batch = new Map(published.map((m) => [m.topic, m.payload.toString()]));
    published.length = 0;
    return batch;
  };
  return { broker, clock, take };
}

describe('SysTopics', () => {
  it('publishes every topic at start, retained at QoS 2', async () => {
    const { broker, take } = await sysBroker(10);
    const first = take();
    assert.ok(first.size > 80, `${first.size} topics`);
    assert.match(first.get('$SYS/broker/version')!, /^pipit version /);
    assert.equal(first.get('$SYS/broker/uptime'), '0 seconds');
    assert.equal(first.get('$SYS/broker/load/bytes/received/15min'), '0.00');
    const retained = await broker.admin.retainedMessage('$SYS/broker/clients/total');
    assert.equal(retained?.qos, 2);
    await broker.close();
  });

  it('then every interval only what changed: uptime, and the counters that moved', async () => {
    const { broker, clock, take } = await sysBroker(10);
    take();
    clock.advance(10_000);
    const quiet = [...take().keys()].filter((t) => !t.startsWith('$SYS/broker/heap/'));
    assert.deepEqual(quiet, ['$SYS/broker/uptime']);
    broker.core.metrics.bytesReceived += 6000;
    broker.core.metrics.dropped['queue-full'] += 2;
    clock.advance(10_000);
    const moved = take();
    assert.equal(moved.get('$SYS/broker/uptime'), '20 seconds');
    assert.equal(moved.get('$SYS/broker/bytes/received'), '6000');
    assert.equal(moved.get('$SYS/broker/publish/messages/dropped'), '2');
    assert.equal(moved.get('$SYS/broker/pipit/dropped/queue-full'), '2');
    // 6000 bytes in 10 s: 36000 per minute, pulled towards by 1 - e^(-10/60).
    assert.equal(
      moved.get('$SYS/broker/load/bytes/received/1min'),
      (36000 * (1 - Math.exp(-10 / 60))).toFixed(2),
    );
    assert.equal(moved.has('$SYS/broker/bytes/sent'), false);
    assert.equal(moved.has('$SYS/broker/version'), false);
    await broker.close();
  });

  it('stops with the broker', async () => {
    const { broker, clock, take } = await sysBroker(1);
    take();
    await broker.close();
    clock.advance(5_000);
    assert.equal(take().size, 0);
  });
});
