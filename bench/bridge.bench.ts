/**
 * Bridged throughput and latency: one publisher on broker A, one subscriber on broker B, the
 * messages crossing a bridge A -> B, against the same flow on one broker, for Pipit -> Pipit
 * and Mosquitto -> Mosquitto. QoS 1 both ways, a window of messages in flight, each payload
 * carrying its send time. Brokers run as child processes (`pipit broker --memory`, mosquitto
 * without persistence).
 *
 *   node --import tsx bench/bridge.bench.ts [--duration 3] [--window 100] [--size 64]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect, type MqttClient } from '../src/client/index.js';
import { freePort, mosquittoPath, waitForPort } from './harness/brokers.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '3' },
    window: { type: 'string', default: '100' },
    size: { type: 'string', default: '64' },
  },
});
const DURATION_MS = Number(values.duration) * 1000;
const WINDOW = Number(values.window);
const SIZE = Math.max(16, Number(values.size));

interface Running {
  port: number;
  stop(): Promise<void>;
}

async function run(cmd: string, args: string[], port: number): Promise<Running> {
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => (tail = (tail + d).slice(-2000)));
  const alive = () => child.exitCode === null && child.signalCode === null;
  try {
    await waitForPort(port, 20_000, alive);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${cmd}: ${(err as Error).message}\n${tail}`);
  }
  return {
    port,
    stop: () =>
      new Promise((resolve) => {
        if (!alive()) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

function pipit(port: number, dir: string, bridgeTo?: number): Promise<Running> {
  const args = ['--import', 'tsx', 'src/cli/main.ts', 'broker', '--memory', '--port', String(port)];
  if (bridgeTo !== undefined) {
    const file = join(dir, `pipit-${port}.yaml`);
    writeFileSync(
      file,
      [
        'log: { level: warn }',
        'bridges:',
        '  - name: bench',
        `    addresses: ["127.0.0.1:${bridgeTo}"]`,
        '    protocol: mqttv50',
        '    maxInflight: 1000', // as the Mosquitto bridge below
        '    topics: [{ pattern: "bench/#", direction: out, qos: 1 }]',
        '',
      ].join('\n'),
    );
    args.push('-c', file);
  } else args.push('--log-level', 'warn');
  return run(process.execPath, args, port);
}

function mosquitto(port: number, dir: string, bridgeTo?: number): Promise<Running> {
  const bin = mosquittoPath();
  if (!bin) throw new Error('mosquitto is not installed');
  const lines = [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false'];
  // max_inflight_messages 0 (unlimited) would go out as Receive Maximum 0 on the bridge's
  // MQTT 5 CONNECT, which the remote refuses: 1000 is far above the window.
  lines.push('max_queued_messages 1000000', 'max_inflight_messages 1000', 'set_tcp_nodelay true');
  if (bridgeTo !== undefined) {
    lines.push('connection bench', `address 127.0.0.1:${bridgeTo}`, 'topic bench/# out 1');
    lines.push('cleansession true', 'bridge_protocol_version mqttv50');
  }
  const file = join(dir, `mosquitto-${port}.conf`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return run(bin, ['-c', file], port);
}

/** Publishes QoS 1 with WINDOW in flight for DURATION_MS; the subscriber measures. */
async function measure(pubPort: number, subPort: number) {
  const latencies: number[] = [];
  let delivered = 0;
  let measuring = true;
  const sub: MqttClient = await connect(
    { port: subPort, clientId: 'bench-sub', protocolVersion: 5 },
    (c) =>
      c.on('message', (_topic, payload) => {
        if (!measuring) return;
        delivered++;
        const sent = payload.readBigUInt64BE(0);
        latencies.push(Number(process.hrtime.bigint() - sent) / 1e6);
      }),
  );
  await sub.subscribe('bench/#', { qos: 1 });
  const pub = await connect({
    port: pubPort,
    clientId: 'bench-pub',
    protocolVersion: 5,
    maxInflight: WINDOW,
  });
  // Let a bridge connect and subscribe before measuring.
  const warm = Buffer.alloc(SIZE);
  for (let tries = 0; delivered === 0 && tries < 200; tries++) {
    warm.writeBigUInt64BE(process.hrtime.bigint(), 0);
    await pub.publish('bench/warm', warm, { qos: 1 });
    await new Promise((r) => setTimeout(r, 25));
  }
  delivered = 0;
  latencies.length = 0;
  const end = Date.now() + DURATION_MS;
  const started = Date.now();
  const lane = async () => {
    while (Date.now() < end) {
      const payload = Buffer.alloc(SIZE);
      payload.writeBigUInt64BE(process.hrtime.bigint(), 0);
      await pub.publish('bench/x', payload, { qos: 1 });
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, lane));
  await new Promise((r) => setTimeout(r, 500));
  measuring = false;
  const seconds = (Date.now() - started) / 1000;
  await pub.end();
  await sub.end();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { rate: Math.round(delivered / seconds), p50: pct(0.5), p99: pct(0.99) };
}

async function scenario(
  name: string,
  start: (port: number, dir: string, bridgeTo?: number) => Promise<Running>,
  bridged: boolean,
) {
  const dir = mkdtempSync(join(tmpdir(), 'pipit-bridge-bench-'));
  const remotePort = await freePort();
  const remote = await start(remotePort, dir);
  const local = bridged ? await start(await freePort(), dir, remotePort) : remote;
  try {
    const r = await measure(local.port, remotePort);
    console.log(
      `| ${name} | ${bridged ? 'bridged A -> B' : 'one broker'} | ${r.rate} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`,
    );
  } finally {
    if (bridged) await local.stop();
    await remote.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`QoS 1, window ${WINDOW}, ${SIZE} B payloads, ${DURATION_MS / 1000} s per run`);
console.log('| brokers | flow | msg/s delivered | p50 ms | p99 ms |');
console.log('|---|---|---|---|---|');
await scenario('Pipit', pipit, false);
await scenario('Pipit -> Pipit', pipit, true);
await scenario('Mosquitto', mosquitto, false);
await scenario('Mosquitto -> Mosquitto', mosquitto, true);
