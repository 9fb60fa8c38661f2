/**
 * The resync of a session deleted in a failed batch asks the write guard first
 * (session-write-guard.ts): a node whose client is another node's now deletes nothing (that
 * stored session is the other node's, in a store the nodes share), and the leave's fence goes
 * with the deletion and the will to the store, which checks it in the write's atomic step. The
 * cluster's guard over a real Redis is test/cluster/session-resync-owner.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SessionWriteGuard } from '../../src/core/index.js';
import type { WriteFence } from '../../src/ports/index.js';
import { FakeClient, flush } from '../helpers/core-harness.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { FlakyStore } from '../helpers/flaky-memory-store.js';
import {
  connect,
  publishFromHost,
  receive,
  startCore,
  storeBack,
  subscribe,
} from '../helpers/resync-scenario.js';

/** A store that records the fences of deletions (and applies them, as one node's store does). */
class FenceRecordingStore extends FlakyStore {
  readonly fences: (WriteFence | undefined)[] = [];
  override deleteSession(clientId: string, fence?: WriteFence): void {
    if (!this.failing) this.fences.push(fence);
    super.deleteSession(clientId);
  }
}

/** A guard with a fixed answer, counting the questions. */
function guard(answer: { fence?: WriteFence } | undefined): SessionWriteGuard & { asked: number } {
  return {
    asked: 0,
    mayWrite() {
      this.asked++;
      return Promise.resolve(answer);
    },
  };
}

/**
 * `sub` (subscribed to `q/#`, one message queued) ends while batches fail: a clean start with
 * no expiry, then gone. Its stored session is still there once the store answers again.
 */
async function endedWhileFailing(store: FenceRecordingStore, clock: FakeClock) {
  const core = await startCore(store, clock);
  const sub = await connect(core, 'sub');
  await subscribe(sub, 'q/#', 1);
  sub.send({ type: 'disconnect', reasonCode: 0 });
  await flush();
  await publishFromHost(core, 'old-1', 1);
  store.failing = true;
  const clean = new FakeClient(core, 5);
  clean.connect({ clientId: 'sub', clean: true, properties: { sessionExpiryInterval: 0 } });
  await receive(clean, 1);
  clean.send({ type: 'disconnect', reasonCode: 0 });
  await flush();
  assert.equal(core.sessions.get('sub'), undefined);
  return core;
}

describe('the resync of a deleted session asks the write guard', () => {
  it('deletes nothing when the guard says the client is another node’s now', async () => {
    const store = new FenceRecordingStore();
    const clock = new FakeClock();
    const core = await endedWhileFailing(store, clock);
    const refusing = guard(undefined);
    core.registry.guardWritesWith(refusing);
    await storeBack(store, core, clock, () => refusing.asked > 0);
    assert.deepEqual(store.fences, []);
    const stored = await core.persistence!.loadSession('sub');
    assert.deepEqual(
      stored?.session.subscriptions.map((s) => s.filter),
      ['q/#'],
      'the stored session is left to its owner',
    );
    core.close();
  });

  it('deletes with the fence of the guard’s leave', async () => {
    const store = new FenceRecordingStore();
    const clock = new FakeClock();
    const core = await endedWhileFailing(store, clock);
    const fence = { key: 'owner:sub', value: 'this-node' };
    const granting = guard({ fence });
    core.registry.guardWritesWith(granting);
    await storeBack(store, core, clock, () => store.fences.length > 0);
    assert.deepEqual(store.fences, [fence]);
    assert.equal(await core.persistence!.loadSession('sub'), undefined);
    core.close();
  });
});
