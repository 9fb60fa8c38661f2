/**
 * A session that moves between live nodes loses nothing acknowledged while it moves (issue
 * #11): three Pipit nodes in this process on a real redis-server with the Redis store; a
 * persistent subscriber (QoS 2) hops from node to node, each connect a takeover of its
 * session from the node that held it [MQTT-3.1.4-3], while publishers on every node (QoS 1
 * and QoS 2) publish to its topic without a pause, one message at a time, each counted once
 * its PUBACK/PUBCOMP came. The node that holds the session closes the connection and keeps
 * the session until a route barrier passed; the new node parks what it gets meanwhile and
 * delivers what the session lacks (src/cluster/session-move.ts, session-arrival.ts). A
 * drain hands its sessions over the same way, under the same traffic.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient, Store } from 'mqtt';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import { startSharedNode, type TestNode } from './cluster-nodes.js';
import { RedisFixture } from './redis-fixture.js';

const TOPIC = 'live-move/moving';
const DRAIN_TOPIC = 'live-move/drained';
/** Times the subscriber moves to another node. */
const MOVES = 10;
/** Messages acknowledged between two moves (so that every move happens mid-stream). */
const BETWEEN_MOVES = 60;

/** Publishes to TOPIC without a pause until stopped; keeps the acknowledged payloads. */
class Publisher {
  readonly acknowledged: string[] = [];
  private stopping = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly client: MqttClient,
    private readonly name: string,
    readonly qos: 1 | 2,
    private readonly topic: string,
  ) {}

  start(): void {
    this.loop = (async () => {
      for (let n = 0; !this.stopping; n++) {
        const payload = `${this.name}-${n}`;
        await this.client.publishAsync(this.topic, payload, { qos: this.qos });
        this.acknowledged.push(payload);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }
}

describe('cluster: a session moving between live nodes', () => {
  let redis: RedisFixture;
  const nodes: TestNode[] = [];
  const clients: MqttClient[] = [];
  /** Session Present of each subscriber CONNACK, in order. */
  const presence: boolean[] = [];
  /** Payloads received per subscriber (client id), with how often each came. */
  const received = new Map<string, Map<string, number>>();
  // One client's stores across its connections, as a persistent client keeps its state.
  const stores = new Map<string, { incomingStore: Store; outgoingStore: Store }>();

  async function connectSubscriber(node: TestNode, clientId: string): Promise<MqttClient> {
    let kept = stores.get(clientId);
    if (kept === undefined) {
      kept = {
        incomingStore: new Store({ clean: false }),
        outgoingStore: new Store({ clean: false }),
      };
      stores.set(clientId, kept);
    }
    const counts = received.get(clientId) ?? new Map<string, number>();
    received.set(clientId, counts);
    const client = mqtt.connect(node.url, {
      clientId,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 600 },
      reconnectPeriod: 0,
      ...kept,
    });
    client.on('message', (_topic, payload) => {
      const text = payload.toString();
      counts.set(text, (counts.get(text) ?? 0) + 1);
    });
    client.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      client.once('connect', (connack) => {
        presence.push(connack.sessionPresent);
        resolve();
      });
      client.once('close', () =>
        reject(new Error(`the subscriber could not connect to ${node.url}`)),
      );
    });
    clients.push(client);
    return client;
  }

  /** A QoS 1 and a QoS 2 publisher to `topic` on each of `on`, started once `topic` is routed everywhere. */
  async function startPublishers(on: TestNode[], topic: string, name: string) {
    const publishers: Publisher[] = [];
    for (const [i, node] of on.entries()) {
      for (const qos of [1, 2] as const) {
        const client = await connectClient(node.url, {
          protocolVersion: 5,
          clientId: `${name}-pub-${i}-${qos}`,
        });
        clients.push(client);
        publishers.push(new Publisher(client, `${name}${i}q${qos}`, qos, topic));
      }
    }
    for (const node of on) {
      await waitFor(
        () =>
          node.broker.cluster!.status().peers.some((p) => p.filters.includes(topic)) ||
          [...node.broker.core.sessions.values()].some((s) => s.subscriptions.has(topic)),
        10_000,
        'the subscription routed on every node',
      );
    }
    for (const p of publishers) p.start();
    const acknowledged = (): number => publishers.reduce((n, p) => n + p.acknowledged.length, 0);
    /** Waits until `count` more messages were acknowledged. */
    const traffic = async (count: number, what: string): Promise<void> => {
      const before = acknowledged();
      await waitFor(() => acknowledged() >= before + count, 30_000, what);
    };
    return { publishers, traffic };
  }

  /** Every acknowledged message reached `clientId`, each QoS 2 message once. */
  async function assertEveryMessageOnce(publishers: Publisher[], clientId: string): Promise<void> {
    await Promise.all(publishers.map((p) => p.stop()));
    const counts = received.get(clientId)!;
    const all = publishers.flatMap((p) => p.acknowledged);
    // A safety net only: the assertion below says what is missing.
    await waitFor(() => all.every((payload) => counts.has(payload)), 30_000).catch(() => {});
    const missing = all.filter((payload) => !counts.has(payload));
    assert.deepEqual(
      missing,
      [],
      `${missing.length} acknowledged messages never arrived (of ${all.length})`,
    );
    const qos2 = publishers.filter((p) => p.qos === 2).flatMap((p) => p.acknowledged);
    const twice = qos2.filter((payload) => (counts.get(payload) ?? 0) > 1);
    assert.deepEqual(twice, [], `${twice.length} QoS 2 messages arrived twice`);
  }

  const moveCounters = (field: 'arrived' | 'barrierTimeouts'): number =>
    nodes.reduce((n, node) => n + node.broker.cluster!.status().moves[field], 0);

  before(async () => {
    redis = await RedisFixture.start();
    for (let i = 0; i < 3; i++) nodes.push(await startSharedNode(redis));
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    for (const node of nodes) await node.close();
    await redis.stop();
  });

  it(`delivers every message acknowledged while the session moves ${MOVES} times, each QoS 2 message once, Session Present 1 each time (publishers on the old, the new and a third node) [MQTT-3.1.4-3] [MQTT-3.2.2-3] [MQTT-4.3.3-2]`, async () => {
    let subscriber = await connectSubscriber(nodes[0]!, 'live-mover');
    await subscriber.subscribeAsync(TOPIC, { qos: 2 });
    const { publishers, traffic } = await startPublishers(nodes, TOPIC, 'm');
    for (let move = 1; move <= MOVES; move++) {
      await traffic(BETWEEN_MOVES, 'traffic before a move');
      const next = nodes[move % nodes.length]!;
      const closed = new Promise<void>((resolve) => subscriber.once('close', () => resolve()));
      const previous = subscriber;
      subscriber = await connectSubscriber(next, 'live-mover'); // the old one gets 0x8E
      await closed;
      previous.end(true);
    }
    await traffic(BETWEEN_MOVES, 'traffic after the last move');
    // [MQTT-3.2.2-3] every move resumed the session, also on a node it had left before.
    assert.deepEqual(presence, [false, ...Array(MOVES).fill(true)]);
    await assertEveryMessageOnce(publishers, 'live-mover');
    // Each move went through a hold, a barrier and an arrival on the new node.
    assert.equal(moveCounters('arrived'), MOVES);
    assert.equal(moveCounters('barrierTimeouts'), 0, 'route barriers that timed out');
  });

  it('delivers every message acknowledged while the node holding the session drains and hands it over, each QoS 2 message once (publishers on the two other nodes)', async () => {
    const draining = nodes[2]!;
    const arrivedBefore = moveCounters('arrived');
    const subscriber = await connectSubscriber(draining, 'live-drained');
    await subscriber.subscribeAsync(DRAIN_TOPIC, { qos: 2 });
    const { publishers, traffic } = await startPublishers(nodes.slice(0, 2), DRAIN_TOPIC, 'd');
    await traffic(BETWEEN_MOVES, 'traffic before the drain');
    const closed = new Promise<void>((resolve) => subscriber.once('close', () => resolve()));
    const result = await draining.broker.drain();
    await closed;
    subscriber.end(true);
    assert.equal(result.sessions, 1);
    // Published while the client is away: queued for it on the peer that took the session.
    await traffic(BETWEEN_MOVES, 'traffic while the client is away');
    await connectSubscriber(nodes[0]!, 'live-drained');
    await traffic(BETWEEN_MOVES, 'traffic after the client is back');
    await assertEveryMessageOnce(publishers, 'live-drained');
    assert.ok(moveCounters('arrived') > arrivedBefore, 'the hand-over went through an arrival');
    assert.equal(moveCounters('barrierTimeouts'), 0, 'route barriers that timed out');
  });
});
