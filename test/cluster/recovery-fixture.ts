/**
 * Helpers of the tests of a second node death during a recovery: a node in a child process
 * stuck half-way through its recovery of a dead node (gated-node-main.ts), and a publisher
 * that records what was acknowledged.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Redis } from 'ioredis';
import type { IClientOptions, MqttClient } from 'mqtt';
import { endClient } from '../helpers/broker.js';
import { connectCollecting } from './cluster-nodes.js';

/** A node in a child process, stuck half-way through its recovery of a dead node. */
export interface GatedNode {
  child: ChildProcess;
  url: string;
  nodeId: number;
  /** Resolves with the client id whose session read is held at the gate. */
  gated: Promise<string>;
}

/** Starts gated-node-main.ts with `gate` (`GATE_CLIENTS` or `GATE_CURSOR`) in its environment. */
export async function startGatedNode(
  redisUrl: string,
  gate: Record<string, string>,
): Promise<GatedNode> {
  const script = new URL('./gated-node-main.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, REDIS_URL: redisUrl, ...gate },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const line = (pattern: RegExp, what: string) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const look = () => {
        const match = out.match(pattern);
        if (match) resolve(match);
      };
      child.stdout!.on('data', look);
      child.once('exit', () => reject(new Error(`gated node exited before ${what}:\n${err}`)));
    });
  child.stdout!.on('data', (d) => (out += d));
  const gated = line(/gated (\S+)\n/, 'its gate').then((m) => m[1]!);
  gated.catch(() => {});
  const [, port, nodeId] = await line(/listening (\d+) (\d+)\n/, 'listening');
  return { child, url: `mqtt://127.0.0.1:${port}`, nodeId: Number(nodeId), gated };
}

/** Kills `child` (SIGKILL) and waits for its exit. */
export async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/** Publishes and records the payloads acknowledged (PUBACK / PUBCOMP), per topic. */
export class Publisher {
  readonly acked = new Map<string, { payload: string; qos: 1 | 2 }[]>();
  refused = 0;
  constructor(readonly client: MqttClient) {}

  /** `record` false: a probe, which may have matched no route yet. */
  async send(topic: string, payload: string, qos: 1 | 2, record = true): Promise<boolean> {
    try {
      await this.client.publishAsync(topic, payload, { qos });
    } catch {
      this.refused++; // 0x97: its only route was a node that left; not acknowledged
      return false;
    }
    if (!record) return true;
    const list = this.acked.get(topic) ?? [];
    list.push({ payload, qos });
    this.acked.set(topic, list);
    return true;
  }
}

/**
 * Makes each of `sessions` a persistent session on the node at `url`, subscribed at QoS 2 to
 * `topicOf(clientId)`, and leaves it offline (its messages then go to that node's inbox).
 */
export async function subscribeOffline(
  url: string,
  sessions: readonly IClientOptions[],
  topicOf: (clientId: string) => string,
): Promise<void> {
  for (const options of sessions) {
    const first = await connectCollecting(url, options);
    await first.client.subscribeAsync(topicOf(options.clientId!), { qos: 2 });
    await endClient(first.client);
  }
}

/** The node that owns `clientId` (read from Redis): its id, its instance and its inbox key. */
export async function ownerNode(
  redis: Redis,
  clientId: string,
): Promise<{ nodeId: number; instance: string; inbox: string }> {
  const nodeId = Number((await redis.get(`pipit:owner:${clientId}`))?.split('/')[0]);
  const instance = (await redis.hget('pipit:instances', String(nodeId)))!;
  return { nodeId, instance, inbox: `pipit:inbox:${nodeId}` };
}
