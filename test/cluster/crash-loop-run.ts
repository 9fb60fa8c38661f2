/**
 * The cluster crash loop's run, shared by test/cluster/crash-loop.test.ts (one durable Redis)
 * and scripts/soak-cluster-failover.ts (a Sentinel-managed master and replica): the nodes,
 * the clients (crash-loop-clients.ts), the node kills with their node-death windows, the
 * probes that close a window, and the accounting of what every publisher got acknowledged
 * against what every subscriber received. The caller decides what it asserts on the
 * {@link CrashLoopTally}.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { waitFor } from '../helpers/broker.js';
import { type CliNode, killNode, stopNode } from './cli-node.js';
import { joinedNodeId } from './cluster-test-values.js';
import {
  type Acknowledged,
  CrashPublisher,
  CrashSubscriber,
  type CrashWindow,
} from './crash-loop-clients.js';

/** What a run needs from its caller. */
export interface CrashLoopSetup {
  /** Starts one `pipit broker --cluster` child on the cluster's Redis. */
  startNode: () => Promise<CliNode>;
  /** A client of the cluster's Redis (its current master, behind Sentinel). */
  redis: Redis;
  /** Where the nodes' logs and lost.log are written. */
  dir: string;
}

/** The messages of a finished run, sorted by where they fell. */
export interface CrashLoopTally {
  all: Acknowledged[];
  /** Acknowledged outside every window and never received. */
  missing: Acknowledged[];
  /** Acknowledged in a window (node death or failover) and never received. */
  windowLost: Acknowledged[];
  /** Of those, in windows whose session moved on to another node. */
  movedLost: Acknowledged[];
  /** Of those, in windows whose session did not move on. */
  deathLost: Acknowledged[];
  inWindows: number;
  movedWindows: number;
  /** Messages of QoS `qos` that arrived more than once. */
  duplicated: (qos: 1 | 2) => Acknowledged[];
  unacknowledged: number;
  sessionsLost: number;
  /** Messages that reached a subscriber on another topic than its own. */
  foreign: string[];
}

/** Three (or `count`) nodes, six persistent subscribers, four publishers; nodes killed in turn. */
export class CrashLoopRun {
  readonly nodes: (CliNode | undefined)[] = [];
  /** Every node started, for their logs. */
  readonly started: CliNode[] = [];
  /** Topics whose subscriber's session is in a window (node death, failover), with that window. */
  readonly windows = new Map<string, CrashWindow>();
  readonly subscribers: CrashSubscriber[] = [];
  readonly publishers: CrashPublisher[] = [];
  /** Kills and restarts, for the lost messages' log. */
  readonly events: string[] = [];

  constructor(private readonly setup: CrashLoopSetup) {}

  /** The live nodes' URLs. */
  readonly live = (): string[] => this.nodes.flatMap((n) => (n === undefined ? [] : [n.url]));

  /** Starts `count` nodes, one after the other. */
  async startNodes(count: number): Promise<void> {
    for (let i = 0; i < count; i++) this.nodes.push(await this.start());
  }

  /**
   * Six persistent subscribers (MQTT 5 and 3.1.1 in turn) and four publishers (3.1.1 and 5.0,
   * QoS 1 and 2) spread over the nodes; resolves once every publisher got acknowledgements.
   */
  async startClients(prefix = 'crash'): Promise<void> {
    for (let i = 0; i < 6; i++) {
      const version = i % 2 === 0 ? 5 : 4;
      const subscriber = new CrashSubscriber(
        `${prefix}-sub-${i}`,
        `${prefix}/s${i}`,
        version,
        this.live,
      );
      await subscriber.start(this.nodes[i % this.nodes.length]!.url);
      this.subscribers.push(subscriber);
    }
    const topics = this.subscribers.map((s) => s.topic);
    const kinds = [
      [4, 1],
      [4, 2],
      [5, 1],
      [5, 2],
    ] as const;
    kinds.forEach(([version, qos], i) => {
      const publisher = new CrashPublisher(
        `${prefix}-pub-${i}`,
        version,
        qos,
        topics,
        this.live,
        (topic) => this.windows.get(topic),
      );
      publisher.start(this.nodes[i % this.nodes.length]!.url);
      this.publishers.push(publisher);
    });
    await waitFor(
      () => this.publishers.every((p) => p.acknowledged.length > 0),
      30_000,
      'every publisher to get acknowledgements',
    );
  }

  /**
   * Opens `window` for each of `subscribers` (their topics): what was acknowledged for them
   * and not received yet falls in it. A message keeps the first window it fell in: one lost
   * in an earlier window is not counted again in (nor moved to) a later one of its topic.
   */
  openWindows(subscribers: CrashSubscriber[], window: () => CrashWindow): void {
    for (const s of subscribers) this.windows.set(s.topic, window());
    for (const p of this.publishers) {
      for (const m of p.acknowledged) {
        const open = this.windows.get(m.topic);
        if (
          open !== undefined &&
          m.window === undefined &&
          !this.subscriberOf(m.topic).received.has(m.payload)
        ) {
          m.inWindow = true;
          m.window = open;
        }
      }
    }
  }

  /**
   * Kills node `index`, restarts it, waits until its subscribers' sessions are served again.
   * `afterKill` runs once the node is dead, before the survivors are waited for (a Redis
   * failover while the node is down).
   */
  async killAndRestart(
    index: number,
    round: number,
    afterKill: () => Promise<void> = async () => {},
  ): Promise<void> {
    const victim = this.nodes[index]!;
    const victimId = joinedNodeId(victim);
    const moving = this.subscribers.filter((s) => s.node === victim.url);
    const movesBefore = new Map(moving.map((s) => [s.clientId, this.movesOf(s.clientId)]));
    const kill = `round ${round} ${victim.url} node ${victimId} at ${Date.now()}`;
    // Acknowledged and not yet received when the node dies: in its inbox or in flight there.
    this.openWindows(moving, () => ({ moved: false, kill }));
    this.nodes[index] = undefined;
    await killNode(victim);
    await afterKill();
    let restarted: CliNode | undefined;
    const restarting = this.start().then((node) => (restarted = node));
    // The survivors remove the dead node (and adopt its sessions); unless the restarted node
    // claimed the same node id once the lease had expired: it then restores those sessions.
    await waitFor(
      async () =>
        (restarted !== undefined && joinedNodeId(restarted) === victimId) ||
        (await this.setup.redis.sismember('pipit:nodes', String(victimId))) === 0,
      30_000,
      `the survivors to remove node ${victimId}`,
    );
    this.nodes[index] = await restarting;
    this.events.push(
      `${Date.now()} ${kill}: restarted as ${this.nodes[index]!.url} node ${joinedNodeId(this.nodes[index]!)}`,
    );
    await waitFor(
      () => moving.every((s) => s.node !== undefined && s.node !== victim.url),
      30_000,
      'the dead node’s subscribers to reconnect',
    );
    for (const s of moving) {
      await this.probe(s, round);
      this.windows.get(s.topic)!.moved = this.movesOf(s.clientId) > movesBefore.get(s.clientId)!;
      this.windows.delete(s.topic);
    }
  }

  /** Publishes probes to `subscriber`'s topic on every live node until each one arrived. */
  async probe(subscriber: CrashSubscriber, round: number | string): Promise<void> {
    for (const url of this.live()) {
      const client = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
      const sent: { payload: string; at: number }[] = [];
      const receivedBefore = subscriber.received.size;
      try {
        for (let n = 0; ; n++) {
          if (n >= 15) {
            const meanwhile = subscriber.received.size - receivedBefore;
            assert.fail(
              `probes on ${url} never reached ${subscriber.clientId} (on ${subscriber.node}) within 2 s each (${meanwhile} other messages reached it meanwhile; ${await lateProbes(subscriber, sent)}); ${await this.clusterState()}`,
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
          sent.push({ payload, at: Date.now() });
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

  /**
   * Stops the publishers, waits (up to a minute) for every acknowledged message, writes
   * lost.log and sorts the messages.
   */
  async finish(): Promise<CrashLoopTally> {
    await Promise.all(this.publishers.map((p) => p.stop()));
    const all: Acknowledged[] = this.publishers.flatMap((p) => p.acknowledged);
    const received = (m: Acknowledged): boolean =>
      this.subscriberOf(m.topic).received.has(m.payload);
    const mustArrive = all.filter((m) => !m.inWindow);
    const missing = (): Acknowledged[] => mustArrive.filter((m) => !received(m));
    const lostInWindows = (): Acknowledged[] => all.filter((m) => m.inWindow && !received(m));
    await waitFor(
      () => missing().length === 0 && lostInWindows().length === 0,
      60_000,
      'every acknowledged message',
    ).catch(() => {});
    const windowLost = lostInWindows();
    this.writeLostLog(windowLost);
    return {
      all,
      missing: missing(),
      windowLost,
      // Lost while the session moved on from its adopter to another node, counted apart
      // from the windows whose session stayed on its adopter.
      movedLost: windowLost.filter((m) => m.window?.moved === true),
      deathLost: windowLost.filter((m) => m.window?.moved !== true),
      inWindows: all.length - mustArrive.length,
      movedWindows: all.filter((m) => m.window?.moved === true).length,
      duplicated: (qos) =>
        all.filter(
          (m) => m.qos === qos && (this.subscriberOf(m.topic).received.get(m.payload) ?? 0) > 1,
        ),
      unacknowledged: this.publishers.reduce((n, p) => n + p.unacknowledged, 0),
      sessionsLost: this.subscribers.reduce((n, s) => n + s.sessionsLost, 0),
      foreign: this.subscribers.flatMap((s) => s.foreign.map((m) => `${s.clientId}: ${m}`)),
    };
  }

  /** Stops the clients and the nodes (SIGTERM), and writes every node's log to the folder. */
  async stop(): Promise<void> {
    await Promise.all(this.publishers.map((p) => p.stop()));
    await Promise.all(this.subscribers.map((s) => s.stop()));
    for (const node of this.nodes) if (node) await stopNode(node);
    // The nodes' logs, for whoever has to find out why a run failed.
    for (const [i, node] of this.started.entries()) {
      writeFileSync(join(this.setup.dir, `node-${i}.log`), node.output());
    }
  }

  /** The subscriber of `topic`. */
  subscriberOf(topic: string): CrashSubscriber {
    return this.subscribers.find((s) => s.topic === topic)!;
  }

  /** The owner keys and route tables, for a failure's message. */
  async clusterState(): Promise<string> {
    const r = this.setup.redis;
    const owners = await r.keys('pipit:owner:*-sub-*');
    const values = owners.length > 0 ? await r.mget(...owners) : [];
    const tables = await r.keys('pipit:routes:*');
    const routes = await Promise.all(tables.map(async (k) => `${k}=${await r.hkeys(k)}`));
    const urls = this.nodes.map((n) => (n ? `${n.url}=${joinedNodeId(n)}` : 'down'));
    return `nodes ${urls}; owners ${owners.map((k, i) => `${k}=${values[i]}`)}; ${routes}`;
  }

  private async start(): Promise<CliNode> {
    const node = await this.setup.startNode();
    this.started.push(node);
    return node;
  }

  /** How often a node logged that `clientId`'s session moved on to another node (takeover). */
  movesOf(clientId: string): number {
    const line = new RegExp(`"clientId":"${clientId}"[^\n]*session moved to another node`, 'g');
    return this.started.reduce((n, node) => n + (node.output().match(line)?.length ?? 0), 0);
  }

  /** Writes what is known of each lost message (lost.log in the logs' folder). */
  private writeLostLog(lost: Acknowledged[]): void {
    const lines = lost.map((m) => {
      const s = this.subscriberOf(m.topic);
      return `${m.at} ${m.payload} qos ${m.qos} via ${m.via} to ${s.clientId} window ${m.window?.kill} moved ${m.window?.moved}`;
    });
    const timelines = this.subscribers.map(
      (s) => `${s.clientId} (${s.topic}):\n  ${s.timeline.join('\n  ')}`,
    );
    writeFileSync(
      join(this.setup.dir, 'lost.log'),
      [...lines, '', ...this.events, '', ...timelines].join('\n'),
    );
  }
}

/**
 * Whether the acknowledged probes arrive late (waiting up to 30 s more): a probe that arrives
 * late was routed (its subscriber's session was behind or stalled); one that never arrives
 * may have matched nothing on the node it was published on.
 */
async function lateProbes(
  subscriber: CrashSubscriber,
  sent: readonly { payload: string; at: number }[],
): Promise<string> {
  if (sent.length === 0) return 'every probe refused';
  const arrived = (): number => sent.filter((p) => subscriber.received.has(p.payload)).length;
  await waitFor(() => arrived() > 0, 30_000).catch(() => {});
  const late = arrived();
  if (late === 0) return `none of ${sent.length} acknowledged probes arrived within 30 s more`;
  const after = ((Date.now() - sent[0]!.at) / 1000).toFixed(1);
  const first = sent.find((p) => subscriber.received.has(p.payload))!;
  const how = subscriber.arrivals.get(first.payload)?.join(', ');
  return `${late} of ${sent.length} acknowledged probes arrived late, by ${after} s after the first was sent (${first.payload}: ${how})`;
}
