/**
 * The idle round trip across nodes (issue #11): one message at a time, nothing else running,
 * publisher → node A → Redis → node B → subscriber, against the same on one node. A figure the
 * machine's load hardly moves (no queue builds anywhere), with the Redis commands each message
 * costs (`INFO commandstats` deltas over the measured messages).
 *
 * Setups (fresh processes each): `pipit-1`, one `pipit broker --memory`; `pipit-2`, two
 * `pipit broker --cluster` nodes on one redis-server (the Redis store, their default), the
 * publisher on A and the subscriber on B. `PIPIT_BASE_MAIN` (another build's dist/cli/main.js)
 * adds `base-1` and `base-2`, the same with that build, for a before/after in one run.
 *
 *   node --import tsx bench/cluster-roundtrip.bench.ts [--count 200] [--rounds 1]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import mqtt, { type MqttClient } from 'mqtt';
import { ensurePipitBuilt, freePort, stopChild, waitForPort } from './harness/brokers.js';
import { median } from './harness/summary.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const HOST = '127.0.0.1';

interface Setup {
  name: string;
  main: string;
  nodes: 1 | 2;
}

async function startListening(args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { cwd: root, stdio: 'ignore' });
  await waitForPort(port, 30_000, () => child.exitCode === null && child.signalCode === null);
  return child;
}

/** Starts a setup; returns the publisher's and the subscriber's ports and a stop. */
async function start(setup: Setup): Promise<{
  pubPort: number;
  subPort: number;
  redis: Redis | undefined;
  stop(): Promise<void>;
}> {
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const c of children.reverse()) await stopChild(c);
  };
  const broker = (port: number, extra: string[]) => [
    setup.main,
    'broker',
    '--port',
    String(port),
    '--host',
    HOST,
    ...extra,
  ];
  if (setup.nodes === 1) {
    const port = await freePort();
    children.push(await startListening(broker(port, ['--memory']), port));
    return { pubPort: port, subPort: port, redis: undefined, stop };
  }
  const redisPort = await freePort();
  const redisChild = spawn(
    'redis-server',
    ['--port', String(redisPort), '--bind', HOST, '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  children.push(redisChild);
  await waitForPort(redisPort, 10_000, () => redisChild.exitCode === null);
  const cluster = ['--cluster', `redis://${HOST}:${redisPort}`, '--sys-interval', '0'];
  const ports = [await freePort(), await freePort()];
  for (const port of ports) children.push(await startListening(broker(port, cluster), port));
  const redis = new Redis(redisPort, HOST, { protocol: 2 });
  return {
    pubPort: ports[0]!,
    subPort: ports[1]!,
    redis,
    stop: async () => {
      redis.disconnect();
      await stop();
    },
  };
}

async function connect(port: number, clientId: string): Promise<MqttClient> {
  const client = mqtt.connect(`mqtt://${HOST}:${port}`, {
    clientId,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

/** Calls per command since the server started. */
async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const calls = new Map<string, number>();
  for (const line of info.split('\n')) {
    const m = line.match(/^cmdstat_([^:]+):calls=(\d+)/);
    if (m) calls.set(m[1]!, Number(m[2]));
  }
  return calls;
}

interface Measured {
  deliveryMs: number[];
  pubackMs: number[];
  commands: Map<string, number>;
}

/** `count` messages one at a time: publish, wait for the subscriber (and the PUBACK). */
async function measure(setup: Setup, qos: 0 | 1, count: number): Promise<Measured> {
  const running = await start(setup);
  try {
    const sub = await connect(running.subPort, `rt-sub-${qos}`);
    const pub = await connect(running.pubPort, `rt-pub-${qos}`);
    const topic = `rt/${qos}`;
    await sub.subscribeAsync(topic, { qos });
    let received: (() => void) | undefined;
    sub.on('message', () => received?.());
    const once = async (): Promise<[number, number]> => {
      const t0 = process.hrtime.bigint();
      let pubackAt = 0n;
      const got = new Promise<void>((resolve) => {
        received = resolve;
      });
      const acked = pub.publishAsync(topic, 'x'.repeat(64), { qos }).then(() => {
        pubackAt = process.hrtime.bigint();
      });
      await got;
      const gotAt = process.hrtime.bigint();
      await acked;
      return [Number(gotAt - t0) / 1e6, Number(pubackAt - t0) / 1e6];
    };
    // Until the route reached A (a message arrives), then a few to warm up.
    for (let i = 0; i < 50; i++) {
      const r = await Promise.race([
        once(),
        new Promise<undefined>((r) => setTimeout(r, 200, undefined)),
      ]);
      if (r !== undefined && i > 20) break;
    }
    const before = running.redis ? await commandStats(running.redis) : new Map();
    const deliveryMs: number[] = [];
    const pubackMs: number[] = [];
    for (let i = 0; i < count; i++) {
      const [d, p] = await once();
      deliveryMs.push(d);
      pubackMs.push(p);
    }
    const after = running.redis ? await commandStats(running.redis) : new Map();
    const commands = new Map<string, number>();
    for (const [name, calls] of after) {
      const delta = calls - (before.get(name) ?? 0) - (name === 'info' ? 1 : 0);
      if (delta > 0) commands.set(name, delta / count);
    }
    sub.end(true);
    pub.end(true);
    return { deliveryMs, pubackMs, commands };
  } finally {
    await running.stop();
  }
}

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '200' },
      rounds: { type: 'string', default: '1' },
    },
  });
  const count = Number(values.count);
  const rounds = Number(values.rounds);
  ensurePipitBuilt(root);
  const setups: Setup[] = [
    { name: 'pipit-1', main: 'dist/cli/main.js', nodes: 1 },
    { name: 'pipit-2', main: 'dist/cli/main.js', nodes: 2 },
  ];
  const base = process.env.PIPIT_BASE_MAIN;
  if (base) {
    setups.push({ name: 'base-1', main: base, nodes: 1 }, { name: 'base-2', main: base, nodes: 2 });
  }
  console.log(`\n${count} messages one at a time, MQTT 3.1.1, 64-byte payload, ${rounds} round(s)`);
  console.log('\n| setup | QoS | delivery p50 ms | p90 ms | PUBACK p50 ms | Redis commands/msg |');
  console.log('|---|--:|--:|--:|--:|---|');
  for (const qos of [0, 1] as const) {
    for (const setup of setups) {
      const runs: Measured[] = [];
      for (let r = 0; r < rounds; r++) runs.push(await measure(setup, qos, count));
      const delivery = median(runs.map((m) => median(m.deliveryMs)))!;
      const p90 = median(runs.map((m) => pct(m.deliveryMs, 90)))!;
      const puback = qos === 1 ? median(runs.map((m) => median(m.pubackMs)))!.toFixed(3) : '-';
      const cmds = [...runs[runs.length - 1]!.commands]
        .map(([name, n]) => `${name} ${n.toFixed(2)}`)
        .join(', ');
      console.log(
        `| ${setup.name} | ${qos} | ${delivery.toFixed(3)} | ${p90.toFixed(3)} | ${puback} | ${cmds || '-'} |`,
      );
    }
  }
}

await main();
