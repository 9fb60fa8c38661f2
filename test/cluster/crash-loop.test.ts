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
import mqtt from 'mqtt';
import { waitFor } from '../helpers/broker.js';
import { readReferences, wrongReferences } from '../helpers/redis-references.js';
import { type CliNode, killNode, startCliNode, stopNode } from './cli-node.js';
import { joinedNodeId } from './cluster-test-values.js';
import {
  type Acknowledged,
  CrashPublisher,
  CrashSubscriber,
  type CrashWindow,
} from './crash-loop-clients.js';
import { RedisFixture } from './redis-fixture.js';

/** Kills (the issue asks for at least 20). */
const KILLS = 20;
const NODES = 3;

describe('cluster: crash loop (kill -9 and restart, rotating over three nodes)', () => {
  let redis: RedisFixture;
  let dir: string;
  let config: string;
  const nodes: (CliNode | undefined)[] = [];
  /** Every node started, for their logs. */
  const started: CliNode[] = [];
  const start = async (): Promise<CliNode> => {
    const node = await startCliNode(redis.url, ['-c', config]);
    started.push(node);
    return node;
  };
  const live = (): string[] => nodes.flatMap((n) => (n === undefined ? [] : [n.url]));
  /** Topics whose subscriber's session is in a node-death window, with that window. */
  const windows = new Map<string, CrashWindow>();
  const subscribers: CrashSubscriber[] = [];
  /** Kills and restarts, for the lost messages' log. */
  const events: string[] = [];
  const publishers: CrashPublisher[] = [];

  before(async () => {
    redis = await RedisFixture.start({ durable: true });
    dir = mkdtempSync(join(tmpdir(), 'pipit-crash-'));
    config = join(dir, 'pipit.yaml');
    writeFileSync(config, `cluster:\n  url: ${redis.url}\n  leaseMs: 1000\n  heartbeatMs: 100\n`);
    for (let i = 0; i < NODES; i++) nodes.push(await start());
  });

  after(async () => {
    await Promise.all(publishers.map((p) => p.stop()));
    await Promise.all(subscribers.map((s) => s.stop()));
    for (const node of nodes) if (node) await stopNode(node);
    await redis.stop();
    // The nodes' logs, for whoever has to find out why a run failed.
    for (const [i, node] of started.entries()) {
      writeFileSync(join(dir, `node-${i}.log`), node.output());
    }
  });

  /** Publishes probes to `subscriber`'s topic on every live node until each one arrived. */
  async function probe(subscriber: CrashSubscriber, round: number): Promise<void> {
    for (const url of live()) {
      const client = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
      try {
        for (let n = 0; ; n++) {
          if (n >= 15) {
            assert.fail(
              `probes on ${url} never reached ${subscriber.clientId} (on ${subscriber.node}); ${await clusterState()}`,
            );
          }
          const payload = `probe-${round}-${url}-${n}`;
          // Refused (0x97) while its only route is a dead node under recovery: send again,
          // as the crash loop's publishers do (docs/cluster.md, "a node is killed").
          const refused = await client.publishAsync(subscriber.topic, payload, { qos: 1 }).then(
            () => false,
            (err: { code?: number }) => {
              if (err.code !== 0x97) throw err;
              return true;
            },
          );
          if (refused) {
            await new Promise((resolve) => setTimeout(resolve, 200)); // the survivor routes it soon
            continue;
          }
          const arrived = await waitFor(() => subscriber.received.has(payload), 2000).then(
            () => true,
            () => false,
          );
          if (arrived) break;
        }
      } finally {
        await client.endAsync(true);
      }
    }
  }

  /** Kills node `index`, restarts it, waits until its subscribers' sessions are served again. */
  async function killAndRestart(index: number, round: number): Promise<void> {
    const victim = nodes[index]!;
    const victimId = joinedNodeId(victim);
    const moving = subscribers.filter((s) => s.node === victim.url);
    const movesBefore = new Map(moving.map((s) => [s.clientId, movesOf(s.clientId)]));
    const kill = `round ${round} ${victim.url} node ${victimId} at ${Date.now()}`;
    for (const s of moving) windows.set(s.topic, { moved: false, kill });
    // Acknowledged and not yet received when the node dies: in its inbox or in flight there.
    // A message keeps the first window it fell in: one lost in an earlier window is not
    // counted again in (nor moved to) a later one of its topic.
    for (const p of publishers) {
      for (const m of p.acknowledged) {
        const window = windows.get(m.topic);
        if (
          window !== undefined &&
          m.window === undefined &&
          !subscriberOf(m.topic).received.has(m.payload)
        ) {
          m.inWindow = true;
          m.window = window;
        }
      }
    }
    nodes[index] = undefined;
    await killNode(victim);
    let restarted: CliNode | undefined;
    const restarting = start().then((node) => (restarted = node));
    // The survivors remove the dead node (and adopt its sessions); unless the restarted node
    // claimed the same node id once the lease had expired: it then restores those sessions.
    await waitFor(
      async () =>
        (restarted !== undefined && joinedNodeId(restarted) === victimId) ||
        (await redis.redis.sismember('pipit:nodes', String(victimId))) === 0,
      30_000,
      `the survivors to remove node ${victimId}`,
    );
    nodes[index] = await restarting;
    events.push(
      `${Date.now()} ${kill}: restarted as ${nodes[index]!.url} node ${joinedNodeId(nodes[index]!)}`,
    );
    await waitFor(
      () => moving.every((s) => s.node !== undefined && s.node !== victim.url),
      30_000,
      'the dead node’s subscribers to reconnect',
    );
    for (const s of moving) {
      await probe(s, round);
      windows.get(s.topic)!.moved = movesOf(s.clientId) > movesBefore.get(s.clientId)!;
      windows.delete(s.topic);
    }
  }

  /** How often a node logged that `clientId`'s session moved on to another node (takeover). */
  function movesOf(clientId: string): number {
    const line = new RegExp(`"clientId":"${clientId}"[^\n]*session moved to another node`, 'g');
    return started.reduce((n, node) => n + (node.output().match(line)?.length ?? 0), 0);
  }

  /** The owner keys and route tables, for a failure's message. */
  async function clusterState(): Promise<string> {
    const r = redis.redis;
    const owners = await r.keys('pipit:owner:crash-sub-*');
    const values = owners.length > 0 ? await r.mget(...owners) : [];
    const tables = await r.keys('pipit:routes:*');
    const routes = await Promise.all(tables.map(async (k) => `${k}=${await r.hkeys(k)}`));
    const urls = nodes.map((n) => (n ? `${n.url}=${joinedNodeId(n)}` : 'down'));
    return `nodes ${urls}; owners ${owners.map((k, i) => `${k}=${values[i]}`)}; ${routes}`;
  }

  /** Writes what is known of each lost message (lost.log in the logs' folder). */
  function writeLostLog(lost: Acknowledged[]): void {
    const lines = lost.map((m) => {
      const s = subscriberOf(m.topic);
      return `${m.at} ${m.payload} qos ${m.qos} via ${m.via} to ${s.clientId} window ${m.window?.kill} moved ${m.window?.moved}`;
    });
    const timelines = subscribers.map(
      (s) => `${s.clientId} (${s.topic}):\n  ${s.timeline.join('\n  ')}`,
    );
    writeFileSync(join(dir, 'lost.log'), [...lines, '', ...events, '', ...timelines].join('\n'));
  }

  function subscriberOf(topic: string): CrashSubscriber {
    return subscribers.find((s) => s.topic === topic)!;
  }

  it(`every acknowledged message reaches its persistent subscriber, also in node-death windows and session moves, and no QoS 2 message arrives twice (${KILLS} kills)`, async (t) => {
    for (let i = 0; i < 6; i++) {
      const version = i % 2 === 0 ? 5 : 4;
      const subscriber = new CrashSubscriber(`crash-sub-${i}`, `crash/s${i}`, version, live);
      await subscriber.start(nodes[i % NODES]!.url);
      subscribers.push(subscriber);
    }
    const topics = subscribers.map((s) => s.topic);
    const kinds = [
      [4, 1],
      [4, 2],
      [5, 1],
      [5, 2],
    ] as const;
    kinds.forEach(([version, qos], i) => {
      const publisher = new CrashPublisher(`crash-pub-${i}`, version, qos, topics, live, (topic) =>
        windows.get(topic),
      );
      publisher.start(nodes[i % NODES]!.url);
      publishers.push(publisher);
    });
    await waitFor(
      () => publishers.every((p) => p.acknowledged.length > 0),
      30_000,
      'every publisher to get acknowledgements',
    );

    for (let kill = 0; kill < KILLS; kill++) await killAndRestart(kill % NODES, kill);
    await Promise.all(publishers.map((p) => p.stop()));

    const all: Acknowledged[] = publishers.flatMap((p) => p.acknowledged);
    const mustArrive = all.filter((m) => !m.inWindow);
    const missing = (): Acknowledged[] =>
      mustArrive.filter((m) => !subscriberOf(m.topic).received.has(m.payload));
    const lostInWindows = (): Acknowledged[] =>
      all.filter((m) => m.inWindow && !subscriberOf(m.topic).received.has(m.payload));
    await waitFor(
      () => missing().length === 0 && lostInWindows().length === 0,
      60_000,
      'every acknowledged message',
    ).catch(() => {});
    const windowLost = lostInWindows();
    // Lost while the session moved on from its adopter to another node (asserted 0 below),
    // counted apart from the windows whose session stayed on its adopter (printed).
    const movedLost = windowLost.filter((m) => m.window?.moved === true);
    const deathLost = windowLost.filter((m) => m.window?.moved !== true);
    writeLostLog(windowLost);
    const movedWindows = all.filter((m) => m.window?.moved === true).length;
    const duplicated = (qos: 1 | 2): Acknowledged[] =>
      all.filter((m) => m.qos === qos && (subscriberOf(m.topic).received.get(m.payload) ?? 0) > 1);
    const duplicates = (qos: 1 | 2): number => duplicated(qos).length;
    t.diagnostic(`node logs: ${dir}`);
    t.diagnostic(
      `kills ${KILLS}, acknowledged ${all.length} (QoS 1 ${all.filter((m) => m.qos === 1).length}, QoS 2 ${all.filter((m) => m.qos === 2).length}), ` +
        `unacknowledged ${publishers.reduce((n, p) => n + p.unacknowledged, 0)}, ` +
        `in node-death windows ${all.length - mustArrive.length} of which lost ${windowLost.length} ` +
        `(in windows whose session then moved to another node ${movedWindows}, of which lost ${movedLost.length}), ` +
        `QoS 1 duplicates ${duplicates(1)}, QoS 2 duplicates ${duplicates(2)}, ` +
        `sessions lost ${subscribers.reduce((n, s) => n + s.sessionsLost, 0)}`,
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
      missing().map((m) => m.payload),
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
        .map((m) => `${m.payload}: ${subscriberOf(m.topic).arrivals.get(m.payload)!.join(', ')}`),
      [],
      `QoS 2 messages that arrived twice (${duplicates(2)}; the first 5 and how they came)`,
    );
    assert.equal(
      subscribers.reduce((n, s) => n + s.sessionsLost, 0),
      0,
      'reconnections that found no session',
    );
    // A message id handed out twice (a node id claimed again) delivered an older message in
    // place of the new one, mostly on another topic (test/cluster/message-ids-reclaimed.test.ts).
    assert.deepEqual(
      subscribers.flatMap((s) => s.foreign.map((m) => `${s.clientId}: ${m}`)).slice(0, 10),
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
