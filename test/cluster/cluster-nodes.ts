/**
 * Cluster test helpers: Pipit nodes in this process on one Redis, and waiting for one node
 * to see another's routes.
 */
import { after, before } from 'node:test';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { type BrokerOptions, type ClusterOptions, createBroker } from '../../src/index.js';
import {
  connectClient,
  endClient,
  startBroker,
  type TestBroker,
  waitFor,
} from '../helpers/broker.js';
import { movingClient } from './cluster-test-values.js';
import { RedisFixture } from './redis-fixture.js';

/** Lease timing short enough for tests of departures (the defaults are 10 s / 2.5 s). */
export const TEST_LEASE = { leaseMs: 1000, heartbeatMs: 100 } as const;

/** A broker started as a cluster node on `redis` (memory store). */
export async function startNode(
  redis: RedisFixture,
  options: BrokerOptions = {},
): Promise<TestBroker & { nodeId: number }> {
  const node = await startBroker({
    persistence: { kind: 'memory' },
    ...options,
    cluster: { url: redis.url, ...TEST_LEASE, ...options.cluster },
  });
  return { ...node, nodeId: node.broker.cluster!.nodeId };
}

/** A cluster node in this process, with its node id. */
export type TestNode = TestBroker & { nodeId: number };

/**
 * Two cluster nodes (memory store) in this process on a fresh redis-server, and the MQTT.js
 * clients a test opens on them, all ended by {@link stop}.
 */
export class TwoNodes {
  private readonly clients: MqttClient[] = [];

  private constructor(
    readonly redis: RedisFixture,
    readonly a: TestNode,
    readonly b: TestNode,
  ) {}

  /** Starts both nodes with `cluster` over the test defaults (e.g. `{ qos0Channel: true }`). */
  static async start(cluster: Partial<ClusterOptions> = {}): Promise<TwoNodes> {
    const redis = await RedisFixture.start();
    const options = { cluster: { url: redis.url, ...cluster } };
    return new TwoNodes(redis, await startNode(redis, options), await startNode(redis, options));
  }

  /** An MQTT.js client connected to `node`, ended with the nodes. */
  async client(node: TestNode, options: Parameters<typeof connectClient>[1] = {}) {
    const c = await connectClient(node.url, options);
    this.clients.push(c);
    return c;
  }

  async stop(): Promise<void> {
    await Promise.all(this.clients.map((c) => endClient(c, true)));
    await this.a.close();
    await this.b.close();
    await this.redis.stop();
  }
}

/** The filters `observer` has of peer `nodeId`'s route table. */
export function routesOf(observer: TestBroker, nodeId: number): string[] {
  const peer = observer.broker.cluster!.status().peers.find((p) => p.nodeId === nodeId);
  return peer?.filters ?? [];
}

/** Waits until `observer` routes `filter` to node `nodeId` (or no longer does, `present` false). */
export async function waitForRoute(
  observer: TestBroker,
  nodeId: number,
  filter: string,
  present = true,
): Promise<void> {
  await waitFor(
    () => routesOf(observer, nodeId).includes(filter) === present,
    5000,
    `node ${nodeId}'s route ${filter} ${present ? 'to appear' : 'to go'}`,
  );
}

/**
 * A broker started as a cluster node on `redis` with the store a cluster gets by default:
 * the Redis store on the cluster's Redis (sessions and retained messages shared).
 */
export async function startSharedNode(
  redis: RedisFixture,
  options: BrokerOptions = {},
): Promise<TestBroker & { nodeId: number }> {
  const broker = createBroker({
    ...options,
    cluster: { url: redis.url, ...TEST_LEASE, ...options.cluster },
  });
  const address = await broker.listen({ port: 0, host: '127.0.0.1' });
  return {
    broker,
    port: address.port,
    url: `mqtt://127.0.0.1:${address.port}`,
    close: () => broker.close(),
    nodeId: broker.cluster!.nodeId,
  };
}

/** A client whose messages are collected from its first packet on (queued ones included). */
export interface CollectingClient {
  client: MqttClient;
  messages: { topic: string; payload: string; packet: IPublishPacket }[];
  sessionPresent: boolean;
}

/** Connects MQTT.js with a listener on its messages before CONNACK arrives. */
export function connectCollecting(url: string, options: IClientOptions): Promise<CollectingClient> {
  return new Promise((resolve, reject) => {
    const messages: CollectingClient['messages'] = [];
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    client.on('message', (topic, payload, packet) =>
      messages.push({ topic, payload: payload.toString(), packet }),
    );
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
    client.once('connect', (connack) =>
      resolve({ client, messages, sessionPresent: connack.sessionPresent }),
    );
  });
}

/** The nodes of {@link useTwoSharedNodes}. */
export interface TwoSharedNodes {
  redis: RedisFixture;
  /** The node a session starts on. */
  old: TestNode;
  /** The node it moves to. */
  next: TestNode;
}

/**
 * The session move tests' fixture, for the calling `describe`: before its tests a
 * redis-server and two nodes sharing its store (handed to `started`), after them the clients
 * in `clients` ended, the nodes closed and Redis stopped. `collecting` connects a collecting
 * client and adds it to `clients`.
 */
export function useTwoSharedNodes(started: (nodes: TwoSharedNodes) => void): {
  clients: MqttClient[];
  collecting(node: TestNode, options: IClientOptions): Promise<CollectingClient>;
} {
  const clients: MqttClient[] = [];
  let nodes: TwoSharedNodes | undefined;
  before(async () => {
    const redis = await RedisFixture.start();
    nodes = { redis, old: await startSharedNode(redis), next: await startSharedNode(redis) };
    started(nodes);
  });
  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    await nodes?.old.close();
    await nodes?.next.close();
    await nodes?.redis.stop();
  });
  return {
    clients,
    async collecting(node, options) {
      const c = await connectCollecting(node.url, options);
      clients.push(c.client);
      return c;
    },
  };
}

/**
 * Subscribes a persistent client (`clientId`, QoS 1) to `topic` on the node at `url`, leaves
 * it offline, and waits until `peer` routes `topic` to that node. Returns the node's id (read
 * from the client's owner key under the default prefix `pipit:`).
 */
export async function leaveSubscriberOn(
  redis: RedisFixture,
  url: string,
  peer: TestBroker,
  clientId: string,
  topic: string,
): Promise<number> {
  const first = await connectCollecting(url, movingClient(clientId));
  await first.client.subscribeAsync(topic, { qos: 1 });
  await endClient(first.client);
  const nodeId = Number((await redis.redis.get(`pipit:owner:${clientId}`))?.split('/')[0]);
  await waitForRoute(peer, nodeId, topic);
  return nodeId;
}
