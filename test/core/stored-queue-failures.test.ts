/**
 * A persistent session's stored queue when the store fails for a while (Redis unreachable
 * during a failover, a full disk): an entry whose batch the store did not commit is held in
 * memory and delivered in its place, and a page read that failed is read again after a pause.
 * Before, the first was counted and never read back (lost, and the queue stalled waiting for
 * it), the second stalled a connected session until its client connected again. An entry held
 * in memory is written to the store when its session moves to another node (before, it was
 * lost with the move: scripts/soak-cluster-failover.ts found it).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrokerCore } from '../../src/core/index.js';
import type { StoredDelivery } from '../../src/ports/index.js';
import { MemoryStore } from '../../src/storage/index.js';
import { capturingLogger } from '../helpers/capturing-logger.js';
import { FakeClient, flush, publishes } from '../helpers/core-harness.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** A memory store whose queue writes are dropped and whose commits fail while `failing`. */
class FlakyStore extends MemoryStore {
  failingWrites = false;
  failingReads = false;
  /** Queue writes are dropped but commits succeed: a store that loses what it committed. */
  losingWrites = false;
  /** Writes land but commits report failure (a `WAIT` answered short). */
  failingCommits = false;
  override enqueue(clientId: string, seq: number, delivery: StoredDelivery): void {
    if (!this.failingWrites && !this.losingWrites) super.enqueue(clientId, seq, delivery);
  }
  override async commit(): Promise<void> {
    if (this.failingWrites || this.failingCommits) throw new Error('store unreachable');
    return super.commit();
  }
  override readQueue(...args: Parameters<MemoryStore['readQueue']>) {
    if (this.failingReads) return Promise.reject(new Error('store unreachable'));
    return super.readQueue(...args);
  }
}

/**
 * A memory store whose queue writes land only when their batch's commit runs, and whose
 * commits wait while `holding` (a Redis batch in flight behind a slow `WAIT`): a read issued
 * meanwhile does not see them, as on Redis.
 */
class SlowCommitStore extends MemoryStore {
  holding = false;
  private pending: (() => void)[] = [];
  private waiting: (() => void)[] = [];
  override enqueue(clientId: string, seq: number, delivery: StoredDelivery): void {
    this.pending.push(() => super.enqueue(clientId, seq, delivery));
  }
  override async commit(): Promise<void> {
    const writes = this.pending;
    this.pending = [];
    if (this.holding) await new Promise<void>((resolve) => this.waiting.push(resolve));
    for (const write of writes) write();
    return super.commit();
  }
  release(): void {
    this.holding = false;
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

/**
 * A {@link FlakyStore} whose queue reads, while `gatingReads`, see the store as it is when they
 * are sent but answer only when the test releases them (`answer(i)`), in any order.
 */
class GatedReadStore extends FlakyStore {
  gatingReads = false;
  readonly gated: (() => void)[] = [];
  override readQueue(...args: Parameters<MemoryStore['readQueue']>) {
    const result = super.readQueue(...args);
    if (!this.gatingReads) return result;
    return new Promise<Awaited<typeof result>>((resolve) => {
      this.gated.push(() => void result.then(resolve));
    });
  }
  answer(i: number): void {
    this.gated[i]!();
  }
}

async function startCore(
  store: MemoryStore,
  clock: FakeClock,
  lines: string[] = [],
): Promise<BrokerCore> {
  const core = new BrokerCore({ options: {}, clock, store, logger: capturingLogger(lines) });
  await core.start();
  return core;
}

/** Connects a persistent v5 client (session expiry 1 h); resolves once CONNACK is out. */
async function connect(core: BrokerCore, clientId: string): Promise<FakeClient> {
  const client = new FakeClient(core, 5);
  client.connect({ clientId, clean: false, properties: { sessionExpiryInterval: 3600 } });
  await flush();
  return client;
}

/** A persistent subscriber of `q/#` (QoS 1) that has gone away; its session stays. */
async function offlineSubscriber(core: BrokerCore): Promise<void> {
  const sub = await connect(core, 'sub');
  sub.send({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [
      { filter: 'q/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
    ],
  });
  await flush();
  sub.send({ type: 'disconnect', reasonCode: 0 });
  await flush();
}

/** Publishes at QoS 1; resolves once the store's commit settled (failed or not). */
async function publishQos1(core: BrokerCore, payload: string): Promise<void> {
  await core.publishFromHost({ topic: 'q/a', payload, qos: 1 });
  await core.persistence!.commit().catch(() => {});
  await new Promise((resolve) => setImmediate(resolve)); // the turn's commit is looked at
  await flush();
}

/** What `client` receives over a few turns, acknowledging each. */
async function receiveAll(client: FakeClient, expected: number): Promise<string[]> {
  const got: string[] = [];
  for (let i = 0; i < 10 && got.length < expected; i++) {
    await flush();
    const packets = publishes(client.take());
    for (const p of packets) client.send({ type: 'puback', packetId: p.packetId! });
    got.push(...packets.map((p) => p.payload.toString()));
  }
  return got;
}

describe('a stored queue when the store fails for a while', () => {
  it('an entry queued for an away client in a batch the store did not commit is held in memory and delivered in its place, and the queue goes on', async () => {
    const store = new FlakyStore();
    const core = await startCore(store, new FakeClock());
    await offlineSubscriber(core);
    await publishQos1(core, '1');
    store.failingWrites = true;
    await publishQos1(core, '2 (its batch failed)');
    store.failingWrites = false;
    await publishQos1(core, '3');
    const back = await connect(core, 'sub');
    assert.deepEqual(await receiveAll(back, 3), ['1', '2 (its batch failed)', '3']);
    // The queue is not stalled: what comes next goes straight out.
    await publishQos1(core, '4');
    assert.deepEqual(await receiveAll(back, 1), ['4']);
    assert.equal(core.sessions.get('sub')?.queuedCount, 0);
    core.close();
  });

  it("an entry queued behind a connected client's full window, in a batch the store did not commit, is still delivered after the client reconnects (it was in memory only)", async () => {
    const store = new FlakyStore();
    const core = await startCore(store, new FakeClock());
    await offlineSubscriber(core);
    // Receive Maximum 1: the second message waits in the queue's page in memory (its tail),
    // written to the store in the same turn.
    const sub = new FakeClient(core, 5);
    sub.connect({
      clientId: 'sub',
      clean: false,
      properties: { sessionExpiryInterval: 3600, receiveMaximum: 1 },
    });
    await flush();
    await publishQos1(core, '1');
    store.failingWrites = true;
    await publishQos1(core, '2 (its batch failed)');
    await publishQos1(core, '3 (its batch failed)');
    store.failingWrites = false;
    assert.deepEqual(
      publishes(sub.take()).map((p) => p.payload.toString()),
      ['1'],
    );
    // The client goes away before it acknowledged '1' (a Redis failover drops connections too).
    sub.connection.transportClosed();
    await flush();
    await publishQos1(core, '4');
    const back = await connect(core, 'sub');
    assert.deepEqual(await receiveAll(back, 4), [
      '1',
      '2 (its batch failed)',
      '3 (its batch failed)',
      '4',
    ]);
    assert.equal(core.sessions.get('sub')?.queuedCount, 0);
    core.close();
  });

  it('entries held in memory are written to the store when their session leaves for another node (a takeover across a cluster, a drain), which sends them', async () => {
    const store = new FlakyStore();
    const core = await startCore(store, new FakeClock());
    await offlineSubscriber(core);
    await publishQos1(core, '1');
    store.failingWrites = true;
    await publishQos1(core, '2 (its batch failed)');
    store.failingWrites = false;
    await publishQos1(core, '3');
    // What src/cluster/session-hold.ts does when another node takes the session: hand it
    // over (it leaves memory, stays in the store), commit; the other node reads the store.
    assert.equal(await core.registry.handOver('sub'), true);
    await core.persistence!.commit();
    core.close();
    const other = await startCore(store, new FakeClock());
    const back = await connect(other, 'sub');
    assert.deepEqual(await receiveAll(back, 3), ['1', '2 (its batch failed)', '3']);
    assert.equal(other.sessions.get('sub')?.queuedCount, 0);
    other.close();
  });

  it('an entry whose batch was reported failed but landed is not written again at a hand-over (the store holds it once)', async () => {
    const store = new FlakyStore();
    const core = await startCore(store, new FakeClock());
    await offlineSubscriber(core);
    store.failingCommits = true;
    await publishQos1(core, '1 (landed, reported failed)');
    store.failingCommits = false;
    await publishQos1(core, '2');
    // The memory store refuses a seq it holds already: a second write would throw here.
    assert.equal(await core.registry.handOver('sub'), true);
    await core.persistence!.commit();
    core.close();
    const other = await startCore(store, new FakeClock());
    const back = await connect(other, 'sub');
    assert.deepEqual(await receiveAll(back, 2), ['1 (landed, reported failed)', '2']);
    assert.equal(other.sessions.get('sub')?.queuedCount, 0);
    other.close();
  });

  it('entries the store lost after committing them (a failover without WAIT) are uncounted and reported, and the queue goes on instead of waiting for them', async () => {
    const store = new FlakyStore();
    const lines: string[] = [];
    const core = await startCore(store, new FakeClock(), lines);
    await offlineSubscriber(core);
    await publishQos1(core, '1');
    store.losingWrites = true;
    await publishQos1(core, '2 (lost by the store)');
    store.losingWrites = false;
    await publishQos1(core, '3');
    const back = await connect(core, 'sub');
    assert.deepEqual(await receiveAll(back, 2), ['1', '3']);
    await publishQos1(core, '4');
    assert.deepEqual(await receiveAll(back, 1), ['4']);
    assert.equal(core.sessions.get('sub')?.queuedCount, 0);
    assert.ok(
      lines.some((l) => l.startsWith('queued messages counted but not in the store: lost')),
      lines.join(' | '),
    );
    core.close();
  });

  it('an entry whose batch is still being committed when a page is read is not taken for lost: it is delivered once its batch lands', async () => {
    const store = new SlowCommitStore();
    const lines: string[] = [];
    const core = await startCore(store, new FakeClock(), lines);
    await offlineSubscriber(core);
    await publishQos1(core, '1');
    // '2' is queued and counted; its batch is in flight (not yet in the store) when the
    // client connects and its first page is read: the page ends at '1'.
    store.holding = true;
    await core.publishFromHost({ topic: 'q/a', payload: '2 (its batch in flight)', qos: 1 });
    await flush();
    const back = await connect(core, 'sub');
    await flush();
    store.release();
    assert.deepEqual(await receiveAll(back, 2), ['1', '2 (its batch in flight)']);
    assert.equal(core.sessions.get('sub')?.queuedCount, 0);
    assert.deepEqual(
      lines.filter((l) => l.startsWith('queued messages counted but not in the store')),
      [],
    );
    core.close();
  });

  it('an entry held in memory that the session resync writes again while a page read is under way is not taken for lost', async () => {
    const store = new GatedReadStore();
    const lines: string[] = [];
    const core = await startCore(store, new FakeClock(), lines);
    await offlineSubscriber(core);
    await publishQos1(core, '1');
    store.failingWrites = true;
    await publishQos1(core, '2 (its batch failed)');
    store.failingWrites = false;
    store.gatingReads = true;
    // The client is back: its first page read is sent (the store lacks '2' then) ...
    const back = await connect(core, 'sub');
    assert.equal(store.gated.length, 1, 'the page read is under way');
    // ... and the session resync writes '2' again (session-resync.ts), its read answered first.
    const rewritten = core.sessions.get('sub')!.storeHeld();
    await flush();
    store.answer(1);
    await rewritten;
    await core.persistence!.commit();
    store.gatingReads = false;
    store.answer(0);
    assert.deepEqual(await receiveAll(back, 2), ['1', '2 (its batch failed)']);
    assert.equal(core.sessions.get('sub')?.queuedCount, 0);
    assert.deepEqual(
      lines.filter((l) => l.startsWith('queued messages counted but not in the store')),
      [],
    );
    core.close();
  });

  it('a connected session whose stored queue could not be read reads it again after a pause, with no packet of its client', async () => {
    const store = new FlakyStore();
    const clock = new FakeClock();
    const core = await startCore(store, clock);
    await offlineSubscriber(core);
    for (const n of ['1', '2']) await publishQos1(core, n);
    store.failingReads = true;
    const back = await connect(core, 'sub');
    // Routed while the page is unread: queued behind it, not sent ahead of it.
    await publishQos1(core, '3');
    assert.deepEqual(await receiveAll(back, 0), []);
    store.failingReads = false;
    clock.advance(1000);
    assert.deepEqual(await receiveAll(back, 3), ['1', '2', '3']);
    core.close();
  });
});
