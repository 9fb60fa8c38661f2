// Cross-node forwarding against one node, in one process: a publisher (MQTT.js) and a
// subscriber (MQTT.js) on one broker, then the publisher on node A and the subscriber on
// node B of a cluster over a real redis-server (started here on a free port). Alternating
// rounds; figures are printed, never asserted. Both brokers and both clients share this
// process's one core, so the cluster figure includes the work of two brokers.
//
// Run: node --import tsx bench/cluster-forwarding.bench.ts [rounds] [messages]
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { type Broker, createBroker } from '../src/index.js';

const rounds = Number(process.argv[2] ?? 3);
const messages = Number(process.argv[3] ?? 20_000);
const PAYLOAD = Buffer.alloc(64, 0x61);
const WINDOW = 200;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('/usr/bin/redis-server', [
    '--port',
    String(port),
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  while (!out.includes('Ready to accept connections')) await new Promise((r) => setTimeout(r, 20));
  return child;
}

async function client(port: number): Promise<MqttClient> {
  const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

/** Publishes `messages` at `qos` from pubPort to a subscriber on subPort; msg/s received. */
async function run(pubPort: number, subPort: number, qos: 0 | 1, settle: () => Promise<void>) {
  const sub = await client(subPort);
  await sub.subscribeAsync('bench/t', { qos });
  await settle();
  const pub = await client(pubPort);
  let got = 0;
  const done = new Promise<void>((resolve) =>
    sub.on('message', () => {
      if (++got === messages) resolve();
    }),
  );
  const start = process.hrtime.bigint();
  // At most WINDOW messages unacknowledged (QoS 1) or unflushed (QoS 0): no burst past the
  // subscriber's queue limit, so every message arrives and the rate is the steady one.
  let acked = 0;
  for (let i = 0; i < messages; i++) {
    pub.publish('bench/t', PAYLOAD, { qos }, () => acked++);
    while (i + 1 - acked >= WINDOW) await new Promise((r) => setImmediate(r));
  }
  await done;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  pub.end(true);
  sub.end(true);
  return Math.round(messages / seconds);
}

async function main(): Promise<void> {
  const redisPort = await freePort();
  const redis = await startRedis(redisPort);
  const cluster = { url: `redis://127.0.0.1:${redisPort}` };
  const single = createBroker({ persistence: { kind: 'memory' } });
  const a = createBroker({ persistence: { kind: 'memory' }, cluster });
  const b = createBroker({ persistence: { kind: 'memory' }, cluster });
  const ports: number[] = [];
  for (const broker of [single, a, b] as Broker[]) {
    ports.push((await broker.listen({ port: 0, host: '127.0.0.1' })).port);
  }
  const [singlePort, aPort, bPort] = ports as [number, number, number];
  const seen = async (): Promise<void> => {
    const bId = b.cluster!.nodeId;
    while (
      !a.cluster!.status().peers.some((p) => p.nodeId === bId && p.filters.includes('bench/t'))
    ) {
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  for (let round = 1; round <= rounds; round++) {
    for (const qos of [0, 1] as const) {
      const one = await run(singlePort, singlePort, qos, async () => {});
      const cross = await run(aPort, bPort, qos, seen);
      console.log(
        `round ${round} QoS ${qos}: one node ${one} msg/s, cross-node ${cross} msg/s (${((cross / one) * 100).toFixed(0)}%)`,
      );
    }
  }
  await Promise.all([single.close(), a.close(), b.close()]);
  redis.kill('SIGKILL');
}

await main();
