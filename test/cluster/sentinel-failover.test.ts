/**
 * A Redis master failover under load loses nothing acknowledged with `cluster.wait` (issue
 * #11, docs/cluster.md "Replicas (cluster.wait)"). A real master, replica and sentinel
 * (down-after 1 s); two Pipit nodes in this process reaching Redis through the sentinel, with
 * `cluster.wait { replicas: 1 }` (the store the cluster implies takes it too); persistent
 * subscribers (MQTT 5 and 3.1.1, QoS 2 subscriptions) on node B, publishers (QoS 1 and 2, 5
 * and 3.1.1) on node A publishing steadily, each message sent again until acknowledged (v5
 * PUBACK/PUBREC 0x97 or a closed connection is no acknowledgement). Then the master is killed
 * (SIGKILL), the sentinel promotes the replica and the nodes follow it; the subscribers'
 * connections are dropped at the kill, one of them kept away until the nodes are ready on the
 * new master (what comes for it meanwhile is queued in its stored session, partly in batches
 * the store does not commit); the killed server comes back as the new master's replica (until
 * then `WAIT` has no replica: nothing forwarded is acknowledged). Twice.
 *
 * What it checks: every message a publisher got PUBACK/PUBCOMP for reaches its subscriber; a
 * QoS 2 message arrives at most as often as it was sent (never twice for one send); every
 * reconnection finds its session; both nodes are still up and ready. What it found (fixed,
 * test/core/stored-queue-failures.test.ts): a stored queue entry whose store batch failed was
 * counted but never stored (lost, and the queue stalled behind it), and a connected session
 * whose queue page could not be read got nothing more until its client connected again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Broker, createBroker } from '../../src/index.js';
import { waitFor } from '../helpers/broker.js';
import { CrashSubscriber } from './crash-loop-clients.js';
import { type FailoverAcknowledged, FailoverPublisher } from './failover-publisher.js';
import { SentinelFixture } from './sentinel-fixture.js';

/** Master failovers, one after the other. */
const FAILOVERS = 2;
/** Acknowledgements each publisher gets before the first kill and after each failover. */
const STEADY = 20;
/**
 * `cluster.wait`: one replica, 2 s at most (a healthy replica on this shared machine must not
 * look stopped). The lease outlasts a failover (down-after 1 s, then the promotion): no node
 * takes another for dead because Redis was away; `timeoutMs + heartbeatMs < leaseMs`.
 */
const WAIT = { replicas: 1, timeoutMs: 2000 } as const;
const LEASE = { leaseMs: 10_000, heartbeatMs: 1000 } as const;

describe('cluster: a Redis master failover (Sentinel) under load, with cluster.wait', () => {
  let sentinel: SentinelFixture;
  const brokers: Broker[] = [];
  const urls: string[] = [];
  const subscribers: CrashSubscriber[] = [];
  const publishers: FailoverPublisher[] = [];

  async function startNode(): Promise<string> {
    const broker = createBroker({
      cluster: {
        url: 'redis://mymaster',
        sentinels: sentinel.sentinels,
        name: sentinel.name,
        wait: WAIT,
        ...LEASE,
      },
    });
    brokers.push(broker);
    const address = await broker.listen({ port: 0, host: '127.0.0.1' });
    return `mqtt://127.0.0.1:${address.port}`;
  }

  before(async () => {
    sentinel = await SentinelFixture.start({ downAfterMs: 1000, failoverTimeoutMs: 3000 });
    urls.push(await startNode(), await startNode());
  });

  after(async () => {
    await Promise.all(publishers.map((p) => p.stop()));
    await Promise.all(subscribers.map((s) => s.stop()));
    for (const broker of brokers) await broker.close();
    await sentinel?.stop();
  });

  const acknowledged = (): FailoverAcknowledged[] => publishers.flatMap((p) => p.acknowledged);

  /** Waits until every publisher got `count` more acknowledgements than in `from`. */
  async function steady(from: number[], count: number, what: string): Promise<void> {
    await waitFor(
      () => publishers.every((p, i) => p.acknowledged.length >= from[i]! + count),
      60_000,
      `every publisher to get ${count} acknowledgements ${what}`,
    );
  }

  async function bothReady(): Promise<void> {
    await waitFor(
      async () => {
        for (const broker of brokers) {
          if ((await broker.readiness()).status !== 'ready') return false;
        }
        return true;
      },
      30_000,
      'both nodes ready on the new master',
    );
  }

  it(`every acknowledged message reaches its persistent subscriber through ${FAILOVERS} master failovers, and no QoS 2 send arrives twice`, async (t) => {
    const [a, b] = urls as [string, string];
    for (const [i, version] of ([5, 4] as const).entries()) {
      const subscriber = new CrashSubscriber(`failover-sub-${i}`, `failover/s${i}`, version, () => [
        b,
      ]);
      await subscriber.start(b);
      subscribers.push(subscriber);
    }
    const topics = subscribers.map((s) => s.topic);
    const kinds = [
      [5, 1],
      [5, 2],
      [4, 1],
      [4, 2],
    ] as const;
    for (const [i, [version, qos]] of kinds.entries()) {
      const publisher = new FailoverPublisher(`failover-pub-${i}`, version, qos, topics, () => [a]);
      publisher.start();
      publishers.push(publisher);
    }
    await steady(
      publishers.map(() => 0),
      STEADY,
      'before the first kill',
    );

    const timeline: string[] = [];
    for (let round = 0; round < FAILOVERS; round++) {
      // One subscriber is away from right before the kill until both nodes are ready on the
      // new master: what comes for it meanwhile is queued in its stored session, some of it
      // in batches the dying master, or the new one without a replica (the store's WAIT),
      // does not commit. The other connects again at once (to the dying master, perhaps).
      let back = (): void => {};
      const away = new Promise<void>((resolve) => (back = resolve));
      subscribers[round % 2]!.bounce(away);
      subscribers[(round + 1) % 2]!.bounce();
      const killed = await sentinel.killMaster();
      const ackedAtKill = acknowledged().length;
      const promoted = await sentinel.promoted(killed);
      await bothReady();
      back();
      await sentinel.restartAsReplica(killed);
      const from = publishers.map((p) => p.acknowledged.length);
      timeline.push(
        `failover ${round}: master ${killed} killed at ${ackedAtKill} acknowledged, ${promoted} promoted, ${killed} back as its replica at ${from.reduce((n, x) => n + x, 0)}`,
      );
      await steady(from, STEADY, `after failover ${round}`);
    }
    await Promise.all(publishers.map((p) => p.stop()));

    const all = acknowledged();
    const subscriberOf = (topic: string): CrashSubscriber =>
      subscribers.find((s) => s.topic === topic)!;
    const missing = (): FailoverAcknowledged[] =>
      all.filter((m) => !subscriberOf(m.topic).received.has(m.payload));
    await waitFor(() => missing().length === 0, 30_000, 'every acknowledged message').catch(
      () => {},
    );
    await Promise.all(subscribers.map((s) => s.settled()));
    // A QoS 2 payload may arrive once per send (a send refused with 0x97 may have reached the
    // peer's inbox already); more is a duplicate of the broker's.
    const times = (payload: string): number =>
      subscribers.reduce((n, s) => n + (s.received.get(payload) ?? 0), 0);
    const duplicated = publishers
      .filter((p) => p.qos === 2)
      .flatMap((p) => [...p.sends].filter(([payload, sends]) => times(payload) > sends));
    const status = brokers.map((broker) => broker.cluster!.status());
    t.diagnostic(timeline.join('; '));
    t.diagnostic(
      `acknowledged ${all.length} (QoS 1 ${all.filter((m) => m.qos === 1).length}, QoS 2 ${all.filter((m) => m.qos === 2).length}), ` +
        `sent more than once ${all.filter((m) => m.sends > 1).length}, ` +
        `refused (0x97) ${publishers.reduce((n, p) => n + p.refused, 0)}, ` +
        `cut off ${publishers.reduce((n, p) => n + p.cutOff, 0)}, lost ${missing().length}, ` +
        `QoS 1 received more than once ${all.filter((m) => m.qos === 1 && times(m.payload) > 1).length}, ` +
        `QoS 2 duplicates ${duplicated.length}, ` +
        `node A notReplicated ${status[0]!.outbox.notReplicated} WAITs ${status[0]!.replicaWait?.waits} short ${status[0]!.replicaWait?.shortfalls}, ` +
        `node B WAITs ${status[1]!.replicaWait?.waits} short ${status[1]!.replicaWait?.shortfalls}`,
    );
    assert.deepEqual(
      missing()
        .slice(0, 10)
        .map((m) => `${m.payload} (qos ${m.qos}, send ${m.sends}, acknowledged at ${m.at})`),
      [],
      `acknowledged messages that never arrived (${missing().length}; the first 10)`,
    );
    assert.deepEqual(
      duplicated.slice(0, 10),
      [],
      'QoS 2 payloads that arrived more often than sent',
    );
    assert.equal(
      subscribers.reduce((n, s) => n + s.sessionsLost, 0),
      0,
      'reconnections that found no session',
    );
    for (const broker of brokers) assert.equal((await broker.readiness()).status, 'ready');
  });
});
