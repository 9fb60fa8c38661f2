/**
 * The login guard's hash queue on its own: order, bound, dropped work and username gates.
 * The checks are functions the test settles, so the order in which the queue runs them is
 * seen exactly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type HashJob,
  type HashOutcome,
  HashQueue,
  type Lane,
} from '../../src/hooks/hash-queue.js';
import { deferred, tick } from './login-guard-helpers.js';

/** A job the test drives: records when it starts, finishes when `finish` is called. */
function job(
  log: string[],
  name: string,
  fields: { source?: string; lane?: Lane; gate?: string; closed?: () => boolean } = {},
) {
  const done = deferred<void>();
  const spec: HashJob = {
    source: fields.source ?? name,
    lane: () => fields.lane ?? 1,
    gate: fields.gate ?? name,
    isClosed: fields.closed ?? (() => false),
    run: () => {
      log.push(name);
      return done.promise;
    },
  };
  return { spec, finish: () => done.resolve() };
}

function queue(overrides: Partial<ConstructorParameters<typeof HashQueue>[0]> = {}) {
  return new HashQueue({
    concurrency: 1,
    maxQueued: 10,
    maxQueuedPerGate: 2,
    gated: () => false,
    gateWaitMs: () => 0,
    ...overrides,
  });
}

describe('HashQueue', () => {
  it('runs at most `concurrency` checks at once, the rest wait', async () => {
    const log: string[] = [];
    const q = queue({ concurrency: 2 });
    const jobs = ['a', 'b', 'c'].map((n) => job(log, n));
    const outcomes = jobs.map((j) => q.submit(j.spec));
    assert.deepEqual(log, ['a', 'b']);
    assert.equal(q.queued, 1);
    jobs[0]!.finish();
    await tick();
    assert.deepEqual(log, ['a', 'b', 'c']);
    jobs[1]!.finish();
    jobs[2]!.finish();
    assert.deepEqual(await Promise.all(outcomes), ['done', 'done', 'done']);
  });

  it('picks the best lane, then the source with fewer pending checks, then the newest', async () => {
    const log: string[] = [];
    const q = queue();
    const first = job(log, 'first');
    void q.submit(first.spec);
    const waiting = [
      job(log, 'suspect', { lane: 2 }),
      job(log, 'flood-1', { source: 'flood' }),
      job(log, 'flood-2', { source: 'flood' }),
      job(log, 'single', { source: 'other' }),
      job(log, 'known', { lane: 0 }),
    ];
    for (const j of waiting) void q.submit(j.spec);
    for (const j of [first, ...waiting]) {
      j.finish();
      await tick();
    }
    // flood-2 before flood-1: newest first; then flood-1 has the fewer pending (flood-2 ran).
    assert.deepEqual(log, ['first', 'known', 'single', 'flood-2', 'flood-1', 'suspect']);
  });

  it('asks a waiting check its lane anew: a source that failed meanwhile drops back', async () => {
    const log: string[] = [];
    const q = queue();
    const first = job(log, 'first');
    void q.submit(first.spec);
    let lane: Lane = 1;
    const changing: HashJob = { ...job(log, 'changing').spec, lane: () => lane };
    const later = job(log, 'later');
    void q.submit(changing);
    void q.submit(later.spec);
    lane = 2;
    first.finish();
    await tick();
    assert.deepEqual(log, ['first', 'later']);
  });

  it('drops a check whose connection closed before its turn, without running it', async () => {
    const log: string[] = [];
    const q = queue();
    const first = job(log, 'first');
    void q.submit(first.spec);
    let closed = false;
    const gone = q.submit(job(log, 'gone', { closed: () => closed }).spec);
    closed = true;
    first.finish();
    assert.equal(await gone, 'abandoned');
    assert.deepEqual(log, ['first']);
    assert.equal(q.queued, 0);
  });

  it('full: a newcomer at least as good takes the place of the worst (oldest) waiting check, a worse one is busy', async () => {
    const log: string[] = [];
    const q = queue({ maxQueued: 2 });
    void q.submit(job(log, 'running').spec);
    const worst = q.submit(job(log, 'worst', { lane: 2 }).spec);
    const fresh = q.submit(job(log, 'fresh').spec);
    void q.submit(job(log, 'known', { lane: 0 }).spec);
    assert.equal(await worst, 'busy', 'the suspect one made room');
    const another = q.submit(job(log, 'another', { lane: 2 }).spec);
    assert.equal(await another, 'busy', 'nothing ranks below it');
    void q.submit(job(log, 'fresh-2').spec);
    assert.equal(await fresh, 'busy', 'an equal newcomer replaces the oldest of the worst');
    assert.equal(q.queued, 2);
  });

  it('full: checks whose connection closed make room first', async () => {
    const log: string[] = [];
    const q = queue({ maxQueued: 1 });
    void q.submit(job(log, 'running').spec);
    const gone = q.submit(job(log, 'gone', { lane: 0, closed: () => true }).spec);
    const next = q.submit(job(log, 'next', { lane: 2 }).spec);
    assert.equal(await gone, 'abandoned');
    assert.equal(q.queued, 1);
    void next;
  });

  it('a closed gate runs its checks one at a time, each after its wait, at most maxQueuedPerGate waiting', async () => {
    const log: string[] = [];
    const opensAt = Date.now() + 30;
    const q = queue({
      concurrency: 4,
      gated: (g) => g === 'alice',
      gateWaitMs: () => Math.max(0, opensAt - Date.now()),
    });
    const a1 = job(log, 'a1', { gate: 'alice' });
    const a2 = job(log, 'a2', { gate: 'alice' });
    const a3 = job(log, 'a3', { gate: 'alice', lane: 2 });
    const bob = job(log, 'bob', { gate: 'bob' });
    const outcomes: Promise<HashOutcome>[] = [a1, a2].map((j) => q.submit(j.spec));
    const third = q.submit(a3.spec);
    assert.equal(await third, 'busy', 'two alice checks wait already');
    void q.submit(bob.spec);
    assert.deepEqual(log, ['bob'], 'an open gate runs at once; alice waits her turn');
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(log, ['bob', 'a2'], 'the newer of two equals first');
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(log, ['bob', 'a2'], 'one alice check at a time');
    a2.finish();
    await tick();
    assert.deepEqual(log, ['bob', 'a2', 'a1']);
    a1.finish();
    bob.finish();
    assert.deepEqual(await Promise.all(outcomes), ['done', 'done']);
  });
});
