/**
 * The cluster's crash loop (issue #11, Proof): three `pipit broker --cluster` children on one
 * durable redis-server (appendonly yes, appendfsync always), persistent subscribers (3.1.1
 * clean session 0, 5.0 session expiry) and publishers (QoS 1 and QoS 2, 3.1.1 and 5.0)
 * spread over them; one node is killed (SIGKILL) and restarted again and again, rotating,
 * while everything publishes. The clients of a killed node reconnect to a live one, as a
 * load balancer would send them.
 *
 * What it checks: no QoS 2 message reaches a subscriber twice; every message a publisher got
 * PUBACK/PUBCOMP for reaches its subscriber, also those in a node-death window
 * (docs/cluster.md, "a node is killed"): from the kill (messages already acknowledged then
 * and not yet received count too) until the subscriber is connected again and a probe
 * published on every live node has reached it. The survivor that removes the dead node
 * delivers what its inbox held to the sessions it adopts, and until then the other nodes
 * keep routing to the dead node's inbox. Windows are split by whether the session, once
 * adopted, moved on to another node because its client reconnected there (a takeover
 * between live nodes, src/cluster/session-move.ts), each kind counted apart: nothing may be
 * lost in either (asserted; a loss is written with where and when it was acknowledged to
 * lost.log). Messages outside every window must all arrive.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readReferences, wrongReferences } from '../helpers/redis-references.js';
import { startCliNode } from './cli-node.js';
import { CrashLoopRun } from './crash-loop-run.js';
import { RedisFixture } from './redis-fixture.js';

/** Kills (the issue asks for at least 20). */
const KILLS = 20;
const NODES = 3;

describe('cluster: crash loop (kill -9 and restart, rotating over three nodes)', () => {
  let redis: RedisFixture;
  let dir: string;
  let run: CrashLoopRun;

  before(async () => {
    redis = await RedisFixture.start({ durable: true });
    dir = mkdtempSync(join(tmpdir(), 'pipit-crash-'));
    const config = join(dir, 'pipit.yaml');
    writeFileSync(config, `cluster:\n  url: ${redis.url}\n  leaseMs: 1000\n  heartbeatMs: 100\n`);
    run = new CrashLoopRun({
      startNode: () => startCliNode(redis.url, ['-c', config]),
      redis: redis.redis,
      dir,
    });
    await run.startNodes(NODES);
  });

  after(async () => {
    await run.stop();
    await redis.stop();
  });

  it(`every acknowledged message reaches its persistent subscriber, also in node-death windows and session moves, and no QoS 2 message arrives twice (${KILLS} kills)`, async (t) => {
    await run.startClients();
    for (let kill = 0; kill < KILLS; kill++) await run.killAndRestart(kill % NODES, kill);
    const tally = await run.finish();
    const { all, windowLost, movedLost, deathLost, movedWindows, duplicated } = tally;
    const duplicates = (qos: 1 | 2): number => duplicated(qos).length;
    t.diagnostic(`node logs: ${dir}`);
    t.diagnostic(
      `kills ${KILLS}, acknowledged ${all.length} (QoS 1 ${all.filter((m) => m.qos === 1).length}, QoS 2 ${all.filter((m) => m.qos === 2).length}), ` +
        `unacknowledged ${tally.unacknowledged}, ` +
        `in node-death windows ${tally.inWindows} of which lost ${windowLost.length} ` +
        `(in windows whose session then moved to another node ${movedWindows}, of which lost ${movedLost.length}), ` +
        `QoS 1 duplicates ${duplicates(1)}, QoS 2 duplicates ${duplicates(2)}, ` +
        `sessions lost ${tally.sessionsLost}`,
    );
    // Each message body in Redis counts exactly the queue and inflight entries naming it (read
    // in one script: a store batch is one MULTI/EXEC): none is left behind by a node killed
    // between removing an entry and the next batch (test/storage/redis-release-kill.test.ts).
    const references = await readReferences(redis.redis);
    const wrongCounts = wrongReferences(references);
    t.diagnostic(
      `message bodies in Redis ${references.filter((r) => r.body).length}, with a count other than their entries ${wrongCounts.length}`,
    );
    assert.deepEqual(
      tally.missing.map((m) => m.payload),
      [],
      'acknowledged messages outside node-death windows that never arrived',
    );
    t.diagnostic(
      `lost in node-death windows with a session move: ${movedLost.length} (the first 10: ${movedLost
        .slice(0, 10)
        .map((m) => m.payload)
        .join(', ')}; each with where and when: lost.log in the node logs' folder)`,
    );
    // A node's death itself loses nothing acknowledged: what the dead node held (its inbox
    // after its committed position, its sessions' stored queues) reaches the adopted sessions,
    // and a node that joins while the survivor recovers it reads its routes meanwhile (the one
    // loss seen here in a fresh-clone run: test/cluster/join-during-recovery.test.ts).
    assert.deepEqual(
      deathLost.map((m) => `${m.payload} (via ${m.via} at ${m.at}; ${m.window?.kill})`),
      [],
      'acknowledged messages lost in node-death windows without a session move',
    );
    assert.deepEqual(
      duplicated(2)
        .slice(0, 5)
        .map(
          (m) => `${m.payload}: ${run.subscriberOf(m.topic).arrivals.get(m.payload)!.join(', ')}`,
        ),
      [],
      `QoS 2 messages that arrived twice (${duplicates(2)}; the first 5 and how they came)`,
    );
    assert.equal(tally.sessionsLost, 0, 'reconnections that found no session');
    // A message id handed out twice (a node id claimed again) delivered an older message in
    // place of the new one, mostly on another topic (test/cluster/message-ids-reclaimed.test.ts).
    assert.deepEqual(
      tally.foreign.slice(0, 10),
      [],
      'messages that reached a subscriber on another topic than its own (the first 10)',
    );
    assert.deepEqual(
      wrongCounts.slice(0, 10),
      [],
      `message bodies whose count is not the entries naming them (${wrongCounts.length}; the first 10)`,
    );
    // A session moving on from its adopter to the node its client reconnected to loses
    // nothing (src/cluster/session-move.ts: hold, route barrier, parked arrival).
    assert.deepEqual(
      movedLost.slice(0, 10).map((m) => `${m.payload} via ${m.via} at ${m.at}`),
      [],
      `acknowledged messages lost in node-death windows with a session move (${movedLost.length}; the first 10)`,
    );
  });
});
