/**
 * `npm run bench`: Pipit side by side with Mosquitto and Aedes.
 *
 * Each broker runs as a fresh process per scenario on a free loopback port (pinned to core
 * 0), the load generator runs here (pinned to core 1), the broker order rotates every
 * round, and the medians go to the "## Broker comparison" section of bench/RESULTS.md.
 *
 *   npm run bench -- [--rounds 3] [--duration 10] [--warmup 2] [--hold 3] [--half-hold 0]
 *                    [--only pipit,mosquitto,fanin,conn-10k] [--no-write] [--json out.json]
 *                    [--transport tcp,tls,ws,wss] [--batch 1] [--warm 0]
 *
 * `--half-hold S`: the conn scenarios also hold the first half of their connections S seconds
 * half-way, for the second half's cost between two settled heaps (bench/README.md).
 *
 * `--warm N`: each conn scenario also runs as `<id>-warm`, against a fresh broker that first
 * served N connections (connect, CONNACK, close; warm-up.ts): the warm broker's rate beside
 * the fresh one's.
 *
 * `--transport` runs every scenario over each listed transport, every broker started with a
 * listener of that kind (tls and wss with a self-signed certificate made per start, which
 * the generator verifies). `--batch N`: the flat-out scenarios' publishers write at least N
 * messages per socket write (default 1: as soon as one is allowed).
 *
 * `--only pipit,pipit-ops,...` adds Pipit with its HTTP listener on and /metrics scraped
 * every second: the cost of metrics on the hot path (the "Pipit ops/Pipit" ratio).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { TRANSPORTS, type Transport } from '../src/bench/transport.js';
import {
  ALL_BROKERS,
  BROKERS,
  type BrokerName,
  ensurePipitBuilt,
  mosquittoPath,
  which,
} from './harness/brokers.js';
import { C_GENERATOR, type CLoadTool, NODE_GENERATOR, prepareCLoad } from './harness/c-load.js';
import { type ComparisonScenario, MATRIX, withWarmTwins } from './harness/matrix.js';
import { type RunSettings, runSample, type Sample } from './harness/runner.js';
import { type RunInfo, renderSection, replaceSection, summarize } from './harness/summary.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function parse() {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      hold: { type: 'string', default: '3' },
      'half-hold': { type: 'string', default: '0' },
      only: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      'no-pin': { type: 'boolean', default: false },
      json: { type: 'string' },
      transport: { type: 'string', default: 'tcp' },
      batch: { type: 'string', default: '1' },
      warm: { type: 'string', default: '0' },
    },
  });
  const num = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min)
      throw new RangeError(`--${name} must be a number >= ${min}`);
    return n;
  };
  const only = (values.only ?? '').split(',').filter(Boolean);
  const brokers = ALL_BROKERS.filter((b) => only.includes(b));
  const picks = only.filter((o) => !ALL_BROKERS.includes(o as BrokerName));
  const picked = MATRIX.filter(
    (s) => picks.length === 0 || picks.some((p) => s.id === p || s.id.startsWith(`${p}-`)),
  );
  if (picked.length === 0) throw new RangeError(`--only matches no scenario: ${picks.join(',')}`);
  const warm = num('warm', values.warm, 0);
  if (!Number.isInteger(warm)) throw new RangeError('--warm must be a whole number');
  if (warm > 0 && !picked.some((s) => s.kind === 'conn'))
    throw new RangeError('--warm applies to the conn scenarios, and none is picked');
  const scenarios = withWarmTwins(picked, warm);
  const transports = [...new Set((values.transport ?? '').split(',').filter(Boolean))];
  const bad = transports.filter((t) => !TRANSPORTS.includes(t as Transport));
  if (transports.length === 0 || bad.length > 0)
    throw new RangeError(
      `--transport must list some of ${TRANSPORTS.join(', ')}; got "${values.transport}"`,
    );
  const batch = num('batch', values.batch, 1);
  if (!Number.isInteger(batch) || batch > 256)
    throw new RangeError('--batch must be an integer from 1 to 256');
  return {
    rounds: Math.floor(num('rounds', values.rounds, 1)),
    durationMs: num('duration', values.duration, 0.5) * 1000,
    warmupMs: num('warmup', values.warmup, 0) * 1000,
    holdMs: num('hold', values.hold, 0) * 1000,
    halfHoldMs: num('half-hold', values['half-hold'], 0) * 1000,
    brokers: brokers.length ? brokers : [...BROKERS],
    scenarios,
    write: !values['no-write'],
    pin: !values['no-pin'],
    json: values.json,
    transports: transports as Transport[],
    batch,
    warm,
  };
}

/** Pins this process (all its threads) to core 1 when taskset exists and there are 2+ cores. */
function pinSelf(): boolean {
  const taskset = which('taskset');
  if (!taskset || os.cpus().length < 2) return false;
  execFileSync(taskset, ['-a', '-cp', '1', String(process.pid)], { stdio: 'ignore' });
  return true;
}

function version(cmd: string, args: string[], pattern: RegExp): string {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return pattern.exec(out)?.[1] ?? '?';
  } catch (err) {
    const out = String((err as { stdout?: string }).stdout ?? '');
    return pattern.exec(out)?.[1] ?? '?';
  }
}

/** The run is over plain TCP alone. */
function tcpOnly(a: ReturnType<typeof parse>): boolean {
  return a.transports.length === 1 && a.transports[0] === 'tcp';
}

/**
 * Builds mqtt-load when a chosen scenario runs on it; says which generator runs what, and
 * why the Node one stands in when there is no C compiler.
 */
function prepareGenerator(a: ReturnType<typeof parse>): CLoadTool | undefined {
  const planned = a.scenarios.filter((s) => s.cLoad).map((s) => s.id);
  if (planned.length === 0) return undefined;
  if (!tcpOnly(a)) {
    // One generator per scenario across transports, so the transport cost compares like
    // with like; mqtt-load speaks plain TCP only.
    const why = `${C_GENERATOR} speaks TCP only and this run has other transports`;
    console.warn(`${why}: ${planned.join(', ')} run on ${NODE_GENERATOR}`);
    return { missing: why };
  }
  const tool = prepareCLoad(root);
  if ('missing' in tool) {
    console.warn(`${tool.missing}: ${planned.join(', ')} run on ${NODE_GENERATOR} instead`);
  } else {
    console.log(
      `load generator for ${planned.join(', ')} over tcp: ${C_GENERATOR}, ${tool.binary}`,
    );
  }
  return tool;
}

/** Which generator ran what, for the section's header. */
function generatorText(a: ReturnType<typeof parse>, tool: CLoadTool | undefined): string {
  const planned = a.scenarios.filter((s) => s.cLoad);
  if (planned.length === 0 || !tool) return `Load generator: ${NODE_GENERATOR}.`;
  if ('missing' in tool) {
    return `Load generator: ${NODE_GENERATOR} for every scenario (${tool.missing}).`;
  }
  const list = planned
    .map(
      (s) =>
        `${s.id}${s.cLoad?.mode === 'connect' ? ` (${s.cLoad.inFlight} CONNECTs in flight)` : ''}`,
    )
    .join(', ');
  return (
    `Load generator: ${C_GENERATOR} (bench/tools/mqtt-load, epoll, pre-encoded packets) for ` +
    `${list}; ${NODE_GENERATOR} for the rest.`
  );
}

function runInfo(
  a: ReturnType<typeof parse>,
  pinned: boolean,
  argv: string[],
  tool: CLoadTool | undefined,
): RunInfo {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const mem = Math.round(os.totalmem() / 2 ** 30);
  const mosq = mosquittoPath();
  const aedes = JSON.parse(readFileSync(join(root, 'node_modules/aedes/package.json'), 'utf8'));
  const pipit = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  // Where the raw samples went is not part of how to reproduce the figures.
  const shown = argv.filter(
    (x, i) => x !== '--json' && argv[i - 1] !== '--json' && x !== '--no-write',
  );
  return {
    date: new Date().toISOString().slice(0, 10),
    machine:
      `${cpu}, ${os.cpus().length} cores, ${mem} GiB, Linux ${os.release()} ` +
      `(load average ${os.loadavg()[0].toFixed(1)} at the start: other work on the machine skews figures)`,
    software: [
      `Pipit ${pipit.version}`,
      `Mosquitto ${mosq ? version(mosq, ['-h'], /mosquitto version (\S+)/) : 'n/a'}`,
      `Aedes ${aedes.version}`,
      `Node ${process.version}`,
    ].join(', '),
    settings:
      `${a.rounds} round(s), ${a.warmupMs / 1000} s warm-up + ${a.durationMs / 1000} s measured per run, ` +
      `MQTT 3.1.1 over ${a.transports.join(', ')} (the transport column; tls and wss: TLS 1.3, ` +
      `a self-signed EC P-256 certificate the client verifies), ` +
      `64-byte payloads unless noted, about 1,000 messages in flight (window 100 per ` +
      `fan-in publisher, 10 per pair and for fan-out), ${batchText(a.batch)}, ` +
      `fresh broker process per run${warmText(a.warm)}` +
      `${pinned ? ', broker on core 0 and load on core 1' : ', not pinned'}. ` +
      generatorText(a, tool),
    command: `npm run bench${shown.length ? ` -- ${shown.join(' ')}` : ''}`,
  };
}

/** The `-warm` conn rows' warm-up, for the section's header. */
function warmText(warm: number): string {
  if (warm === 0) return '';
  return (
    ` (the \`-warm\` conn rows' broker first served ${warm.toLocaleString('en-US')} ` +
    'connections: connect, CONNACK, close, with the same generator; `--warm`)'
  );
}

/** How the publishers wrote, for the section's header. */
function batchText(batch: number): string {
  if (batch === 1) {
    return (
      'publishers write as soon as their window allows one message (`--batch 1`: a write ' +
      'carries what the window freed since the last one; msgs/write shows how many)'
    );
  }
  return (
    `publishers write at least ${batch} messages per socket write (\`--batch ${batch}\`, capped ` +
    'at the window: 10 for pairs and fan-out), except the fixed-rate latency scenario, which ' +
    'sends each message at its tick'
  );
}

/** mqtt-load's fan-in: how late its messages left (its own delay) and what it skipped. */
function lagText(s: Sample): string {
  if (!s.sendLag) return '';
  return `, send lag p99 ${s.sendLag.p99} ms max ${s.sendLag.max} ms, ${s.skipped ?? 0} skipped`;
}

function describe(s: Sample): string {
  if (s.error) return `FAILED (${s.generator}): ${s.error}`;
  const r = s.result!;
  if (r.connections) {
    const c = r.connections;
    const w = s.warmUp;
    const warm = w
      ? `after ${w.connections} warm-up conns (${w.connectsPerSec} conn/s, broker ${w.brokerCpuUsPerConn} µs/conn): `
      : '';
    return (
      `${warm}${c.established}/${c.requested} conns, ${c.connectsPerSec} conn/s, ` +
      `broker ${s.brokerCpuUsPerConn ?? '?'} µs/conn, ` +
      `p99 ${r.latency.p99} ms, ${s.memPerConnKiB ?? '?'} KiB/conn, ` +
      `client cpu ${r.cpu.percent}% (${s.generator})`
    );
  }
  const scrapes = s.scrapes
    ? `, /metrics scraped ${s.scrapes.ok}x (${s.scrapes.failed} failed, ${s.scrapes.bytes} B)`
    : '';
  return (
    `${r.deliveredPerSec} msg/s delivered, p99 ${r.latency.p99} ms, ` +
    `lost/dup/ooo ${r.lost}/${r.duplicated}/${r.outOfOrder}, broker ${s.brokerCpuUsPerMsg ?? '?'} µs/msg, ` +
    `client cpu ${r.cpu.percent}%, ${r.packetsPerWrite} msgs/write${scrapes}${lagText(s)} (${s.generator})`
  );
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const a = parse();
  const pinned = a.pin && pinSelf();
  const tool = prepareGenerator(a);
  const settings: RunSettings = {
    cwd: root,
    ...a,
    pin: pinned,
    ...(tool && 'binary' in tool ? { cLoadBinary: tool.binary } : {}),
  };
  // node-relay reads with Pipit's shared read buffer, from dist/ too.
  if (a.brokers.some((b) => b.startsWith('pipit') || b === 'node-relay')) ensurePipitBuilt(root);
  const samples: Sample[] = [];
  const total = a.transports.length * a.rounds * a.scenarios.length * a.brokers.length;
  for (const transport of a.transports) {
    for (let round = 1; round <= a.rounds; round++) {
      for (const sc of a.scenarios) {
        // Rotate the order each round so no broker always runs first (or on a warm machine).
        const k = (round - 1) % a.brokers.length;
        const order = [...a.brokers.slice(k), ...a.brokers.slice(0, k)];
        for (const broker of order) {
          const sample = await runSample(sc, broker, transport, round, settings);
          samples.push(sample);
          console.log(
            `[${samples.length}/${total}] ${transport} round ${round} ${sc.id} ${broker}: ${describe(sample)}`,
          );
        }
      }
    }
  }
  report(a, pinned, argv, samples, tool);
}

function report(
  a: ReturnType<typeof parse>,
  pinned: boolean,
  argv: string[],
  samples: Sample[],
  tool: CLoadTool | undefined,
): void {
  const scenarios: ComparisonScenario[] = a.scenarios;
  const summaries = a.transports.flatMap((t) =>
    scenarios.flatMap((sc) =>
      a.brokers.map((b) =>
        summarize(
          sc.id,
          b,
          samples.filter((s) => s.scenario === sc.id && s.broker === b && s.transport === t),
          t,
        ),
      ),
    ),
  );
  const section = renderSection(runInfo(a, pinned, argv, tool), scenarios, summaries);
  console.log(`\n${section}`);
  if (a.json) writeFileSync(a.json, JSON.stringify({ samples, summaries }, null, 2));
  if (a.write) {
    const file = join(root, 'bench', 'RESULTS.md');
    const doc = existsSync(file) ? readFileSync(file, 'utf8') : '';
    writeFileSync(file, replaceSection(doc, formatMarkdown(section)));
    console.log(`wrote the "Broker comparison" section of ${file}`);
  }
}

/**
 * Lets Biome align the section's tables, so RESULTS.md passes `biome ci` as written. Only
 * this section goes through the formatter: the other sections belong to other benchmarks.
 */
function formatMarkdown(section: string): string {
  try {
    return execFileSync(
      join(root, 'node_modules', '.bin', 'biome'),
      ['format', '--stdin-file-path=RESULTS.md'],
      { input: section, encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'] },
    );
  } catch {
    console.warn('could not format the section with biome; run `npx biome format --write`');
    return section;
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
