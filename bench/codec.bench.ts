/**
 * Codec benchmark: Pipit's Decoder/encode against mqtt-packet on the same inputs.
 *
 * Decode feeds a realistic stream (many packets back to back, cut into 64 KiB chunks) to
 * each parser; encode turns the same packet into bytes repeatedly. Each case runs a warm-up
 * and then several timed rounds; the median rate (packets per second) is reported with
 * the ratio pipit/mqtt-packet. Run with `npm run bench:codec`. Not a test.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt-packet';
import { Decoder, encode, type Packet, type ProtocolVersion } from '../src/protocol/index.js';

const CHUNK = 64 * 1024;
const STREAM_BYTES = 4 * 1024 * 1024;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const WARMUP_ROUNDS = 2;
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 300);

interface Case {
  name: string;
  version: ProtocolVersion;
  packet: Packet;
  /** The same packet in mqtt-packet's shape. */
  mp: Record<string, unknown>;
}

const v5PublishProps = {
  messageExpiryInterval: 3600,
  contentType: 'application/json',
  userProperties: [['trace', 'a1b2c3']] as [string, string][],
};

function publishCase(version: 4 | 5, size: number): Case {
  const payload = Buffer.alloc(size, 0x61);
  const topic = 'devices/sensor-0042/telemetry';
  const packet: Packet = {
    type: 'publish',
    topic,
    payload,
    qos: 1,
    retain: false,
    dup: false,
    packetId: 42,
  };
  const mp: Record<string, unknown> = {
    cmd: 'publish',
    topic,
    payload,
    qos: 1,
    retain: false,
    dup: false,
    messageId: 42,
  };
  if (version === 5) {
    packet.properties = v5PublishProps;
    mp.properties = { ...v5PublishProps, userProperties: { trace: 'a1b2c3' } };
  }
  return {
    name: `publish-v${version}-${size === 1024 ? '1KiB' : `${size}B`}`,
    version,
    packet,
    mp,
  };
}

function connectCase(version: 4 | 5): Case {
  const base = {
    clean: true,
    keepAlive: 60,
    clientId: 'bench-client-0001',
    username: 'user',
    password: Buffer.from('secret'),
  };
  const will = {
    topic: 'devices/bench/status',
    payload: Buffer.from('offline'),
    qos: 1 as const,
    retain: true,
  };
  const packet: Packet = {
    type: 'connect',
    protocolName: 'MQTT',
    protocolVersion: version,
    ...base,
    will,
  };
  const mp: Record<string, unknown> = {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: version,
    clean: true,
    keepalive: 60,
    clientId: base.clientId,
    username: base.username,
    password: base.password,
    will: { ...will },
  };
  if (version === 5) {
    packet.properties = { sessionExpiryInterval: 300, receiveMaximum: 100 };
    mp.properties = { sessionExpiryInterval: 300, receiveMaximum: 100 };
  }
  return { name: `connect-v${version}`, version, packet, mp };
}

function subscribeCase(version: 4 | 5): Case {
  const filters = ['devices/+/telemetry', 'devices/bench/#', '$share/workers/jobs/+'];
  const packet: Packet = {
    type: 'subscribe',
    packetId: 7,
    subscriptions: filters.map((filter) => ({
      filter,
      qos: 1,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
    })),
  };
  const mp: Record<string, unknown> = {
    cmd: 'subscribe',
    messageId: 7,
    subscriptions: filters.map((topic) => ({ topic, qos: 1, nl: false, rap: false, rh: 0 })),
  };
  if (version === 5) {
    packet.properties = { subscriptionIdentifiers: [12] };
    mp.properties = { subscriptionIdentifier: 12 };
  }
  return { name: `subscribe-v${version}`, version, packet, mp };
}

const CASES: Case[] = [
  publishCase(4, 64),
  publishCase(4, 1024),
  publishCase(5, 64),
  publishCase(5, 1024),
  connectCase(4),
  connectCase(5),
  subscribeCase(4),
  subscribeCase(5),
];

/**
 * Runs `fn` (which handles `perCall` packets) for ROUND_MS of wall time; returns packets
 * per second of CPU time used by the process (GC threads included), which is steadier
 * than wall time on a shared machine.
 */
function rate(fn: () => void, perCall: number): number {
  let calls = 0;
  const start = performance.now();
  const cpu = process.cpuUsage();
  while (performance.now() - start < ROUND_MS) {
    fn();
    calls++;
  }
  const used = process.cpuUsage(cpu);
  return (calls * perCall) / ((used.user + used.system) / 1e6);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Interleaves rounds of the two contenders so drift affects both alike. */
function measure(pipit: () => void, reference: () => void, perCall: number): [number, number] {
  for (let i = 0; i < WARMUP_ROUNDS; i++) {
    rate(pipit, perCall);
    rate(reference, perCall);
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    a.push(rate(pipit, perCall));
    b.push(rate(reference, perCall));
  }
  return [median(a), median(b)];
}

function chunksOf(c: Case): { chunks: Buffer[]; count: number } {
  const one = encode(c.packet, c.version);
  const count = Math.max(1, Math.floor(STREAM_BYTES / one.length));
  const stream = Buffer.concat(Array.from({ length: count }, () => one));
  const chunks: Buffer[] = [];
  for (let i = 0; i < stream.length; i += CHUNK) chunks.push(stream.subarray(i, i + CHUNK));
  return { chunks, count };
}

let sink = 0;

function benchDecode(c: Case): [number, number] {
  const { chunks, count } = chunksOf(c);
  const onPacket = (p: unknown) => {
    sink += p === undefined ? 1 : 0;
  };
  const pipit = () => {
    const decoder = new Decoder({ protocolVersion: c.version });
    for (const chunk of chunks) decoder.push(chunk, onPacket);
  };
  const reference = () => {
    const parser = mqtt.parser({ protocolVersion: c.version });
    parser.on('packet', onPacket);
    for (const chunk of chunks) parser.parse(chunk);
  };
  // Check both parsers see every packet before timing them.
  let seen = 0;
  const check = new Decoder({ protocolVersion: c.version });
  for (const chunk of chunks) check.push(chunk, () => seen++);
  if (seen !== count) throw new Error(`${c.name}: decoded ${seen} of ${count}`);
  return measure(pipit, reference, count);
}

function benchEncode(c: Case): [number, number] {
  const batch = 1000;
  const opts = { protocolVersion: c.version };
  const mine = encode(c.packet, c.version);
  const theirs = mqtt.generate(c.mp as unknown as mqtt.Packet, opts);
  if (!mine.equals(theirs) && c.version !== 5) {
    throw new Error(
      `${c.name}: encodings differ\n${mine.toString('hex')}\n${theirs.toString('hex')}`,
    );
  }
  const pipit = () => {
    for (let i = 0; i < batch; i++) sink += encode(c.packet, c.version).length;
  };
  const reference = () => {
    for (let i = 0; i < batch; i++)
      sink += mqtt.generate(c.mp as unknown as mqtt.Packet, opts).length;
  };
  return measure(pipit, reference, batch);
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`;
}

interface Result {
  name: string;
  op: 'decode' | 'encode';
  pipit: number;
  reference: number;
}

/** Child mode: measures one case and prints its results as JSON lines. */
function runCase(name: string): void {
  const c = CASES.find((x) => x.name === name);
  if (c === undefined) throw new Error(`unknown case ${name}`);
  for (const [op, run] of [
    ['decode', benchDecode],
    ['encode', benchEncode],
  ] as const) {
    const [pipit, reference] = run(c);
    console.log(JSON.stringify({ name, op, pipit, reference } satisfies Result));
  }
  if (sink === -1) console.log(sink);
}

/**
 * Parent mode: each case runs in a fresh process, so one case's heap and JIT state do not
 * skew the next (they did, by up to 2x, when all ran in one process).
 */
function main(): void {
  const filter = process.argv[2];
  console.log(
    `node ${process.version}, ${ROUNDS} rounds of ${ROUND_MS} ms (median of packets per CPU second), ${WARMUP_ROUNDS} warm-up, one process per case`,
  );
  const results: Result[] = [];
  for (const c of CASES) {
    if (filter && !c.name.includes(filter)) continue;
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--case', c.name],
      { encoding: 'utf8', timeout: 600_000 },
    );
    if (child.status !== 0) throw new Error(`${c.name} failed: ${child.stderr}`);
    for (const line of child.stdout.trim().split('\n')) {
      const r = JSON.parse(line) as Result;
      results.push(r);
      console.log(`${r.name} ${r.op}: pipit/mqtt-packet = ${(r.pipit / r.reference).toFixed(1)}x`);
    }
  }
  console.log('\n| case | op | pipit pkt/s | mqtt-packet pkt/s | ratio |');
  console.log('|---|---|---:|---:|---:|');
  for (const r of results) {
    const ratio = (r.pipit / r.reference).toFixed(1);
    console.log(`| ${r.name} | ${r.op} | ${fmt(r.pipit)} | ${fmt(r.reference)} | ${ratio}x |`);
  }
}

if (process.argv[2] === '--case') runCase(process.argv[3]);
else main();
