/**
 * A session that moves between live nodes loses nothing acknowledged while it moves (issue
 * #11): three Pipit nodes in this process on a real redis-server with the Redis store; a
 * persistent subscriber (QoS 2) hops from node to node, each connect a takeover of its
 * session from the node that held it [MQTT-3.1.4-3], while publishers on every node (QoS 1
 * and QoS 2) publish to its topic without a pause, one message at a time, each counted once
 * its PUBACK/PUBCOMP came. The node that holds the session closes the connection and keeps
 * the session until a route barrier passed; the new node parks what it gets meanwhile and
 * delivers what the session lacks (src/cluster/session-move.ts, session-arrival.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient, Store } from 'mqtt';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import { startSharedNode, type TestNode } from './cluster-nodes.js';
import { RedisFixture } from './redis-fixture.js';

const TOPIC = 'live-move/moving';
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
  ) {}

  start(): void {
    this.loop = (async () => {
      for (let n = 0; !this.stopping; n++) {
        const payload = `${this.name}-${n}`;
        await this.client.publishAsync(TOPIC, payload, { qos: this.qos });
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
  const received = new Map<string, number>();
  // One client's stores across its connections, as a persistent client keeps its state.
  const stores = {
    incomingStore: new Store({ clean: false }),
    outgoingStore: new Store({ clean: false }),
  };

  async function connectSubscriber(node: TestNode): Promise<MqttClient> {
    const client = mqtt.connect(node.url, {
      clientId: 'live-mover',
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 600 },
      reconnectPeriod: 0,
      ...stores,
    });
    client.on('message', (_topic, payload) => {
      const text = payload.toString();
      received.set(text, (received.get(text) ?? 0) + 1);
    });
    client.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('close', () =>
        reject(new Error(`the subscriber could not connect to ${node.url}`)),
      );
    });
    clients.push(client);
    return client;
  }

  before(async () => {
    redis = await RedisFixture.start();
    for (let i = 0; i < 3; i++) nodes.push(await startSharedNode(redis));
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    for (const node of nodes) await node.close();
    await redis.stop();
  });

  it(`delivers every message acknowledged while the session moves ${MOVES} times, each QoS 2 message once (publishers on the old, the new and a third node) [MQTT-3.1.4-3] [MQTT-4.3.3-2]`, async () => {
    let subscriber = await connectSubscriber(nodes[0]!);
    await subscriber.subscribeAsync(TOPIC, { qos: 2 });

    const publishers: Publisher[] = [];
    for (const [i, node] of nodes.entries()) {
      for (const qos of [1, 2] as const) {
        const client = await connectClient(node.url, {
          protocolVersion: 5,
          clientId: `live-move-pub-${i}-${qos}`,
        });
        clients.push(client);
        publishers.push(new Publisher(client, `n${i}q${qos}`, qos));
      }
    }
    // Every node routes the topic before the first message counts.
    for (const node of nodes.slice(1)) {
      await waitFor(
        () => node.broker.cluster!.status().peers.some((p) => p.filters.includes(TOPIC)),
        10_000,
        'the subscription routed on every node',
      );
    }
    for (const p of publishers) p.start();
    const acknowledged = (): number => publishers.reduce((n, p) => n + p.acknowledged.length, 0);

    for (let move = 1; move <= MOVES; move++) {
      const before = acknowledged();
      await waitFor(
        () => acknowledged() >= before + BETWEEN_MOVES,
        30_000,
        'traffic before a move',
      );
      const next = nodes[move % nodes.length]!;
      const closed = new Promise<void>((resolve) => subscriber.once('close', () => resolve()));
      const previous = subscriber;
      subscriber = await connectSubscriber(next); // the old connection is taken over (0x8E)
      await closed;
      previous.end(true);
    }
    const last = acknowledged();
    await waitFor(
      () => acknowledged() >= last + BETWEEN_MOVES,
      30_000,
      'traffic after the last move',
    );
    await Promise.all(publishers.map((p) => p.stop()));

    const all = publishers.flatMap((p) => p.acknowledged);
    // A safety net only: the assertion below says what is missing.
    await waitFor(() => all.every((payload) => received.has(payload)), 30_000).catch(() => {});
    const missing = all.filter((payload) => !received.has(payload));
    assert.deepEqual(
      missing,
      [],
      `${missing.length} acknowledged messages never arrived (of ${all.length})`,
    );
    const qos2 = publishers.filter((p) => p.qos === 2).flatMap((p) => p.acknowledged);
    const twice = qos2.filter((payload) => (received.get(payload) ?? 0) > 1);
    assert.deepEqual(twice, [], `${twice.length} QoS 2 messages arrived twice`);
    // Each move went through a hold, a barrier and an arrival on the new node.
    const arrived = nodes.reduce((n, node) => n + node.broker.cluster!.status().moves.arrived, 0);
    assert.equal(arrived, MOVES);
    const timeouts = nodes.reduce(
      (n, node) => n + node.broker.cluster!.status().moves.barrierTimeouts,
      0,
    );
    assert.equal(timeouts, 0, 'route barriers that timed out');
  });
});
