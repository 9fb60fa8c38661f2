/**
 * Cluster soak (not in npm test, issue #11): the crash loop (test/cluster/crash-loop.test.ts)
 * on a Sentinel-managed Redis, with node kills and master failovers interleaved.
 *
 *   node --import tsx scripts/soak-cluster-failover.ts [--kills 20] [--failovers 4] [--seed N]
 *
 * A master and a replica (`appendonly yes`, `appendfsync always`, as the crash loop's one
 * server) and a sentinel (test/cluster/sentinel-fixture.ts); three `pipit broker` children
 * reaching Redis through the sentinel with `cluster.wait { replicas: 1 }` (docs/cluster.md,
 * "Redis behind Sentinel", "Replicas"); the crash loop's subscribers and publishers
 * (test/cluster/crash-loop-run.ts). One node is killed (SIGKILL) and restarted per round,
 * rotating; after some rounds (seeded), the master is killed (SIGKILL), the sentinel promotes
 * the replica, and the killed server comes back as the new master's replica. A failover either
 * follows a round ("between") or comes while its killed node is down ("during": the survivors
 * remove it, and adopt its sessions, on the new master).
 *
 * Windows: a node-death window as in the crash loop; a failover window for every subscriber
 * not in one already, from the master kill (what was acknowledged and not received then
 * counts in) until the subscriber is connected again and a probe on every live node reached
 * it. At a master kill every subscriber's connection drops (as in sentinel-failover.test.ts),
 * one of them (seeded) stays away until the replica is promoted, so that what comes for it
 * is queued in its stored session meanwhile. With `cluster.wait` nothing acknowledged may be
 * lost in any window: windows only say where a loss happened.
 *
 * Prints progress and a summary; writes the nodes' logs and lost.log to a temporary folder
 * (printed); exits 1 if an acknowledged message was lost, a QoS 2 message arrived twice, a
 * session was lost, a message reached another topic's subscriber, or a probe never reached
 * its subscriber (noted, and the run goes on). A failover the sentinel fixture could not
 * carry out cleanly (no replica streaming before the kill, no promotion, the killed server not
 * back as an in-sync replica: FailoverIncomplete) stops the run: Redis may have lost keys
 * (the nodes then log "lease was lost"), so the run is reported invalid, with no tally, and
 * exits 2.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startCliNode } from '../test/cluster/cli-node.js';
import type { CrashWindow } from '../test/cluster/crash-loop-clients.js';
import { CrashLoopRun, type CrashLoopTally } from '../test/cluster/crash-loop-run.js';
import { FailoverIncomplete, SentinelFixture } from '../test/cluster/sentinel-fixture.js';
import { random } from '../test/durability/harness.js';
import { waitFor } from '../test/helpers/broker.js';
import { readReferences, wrongReferences } from '../test/helpers/redis-references.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '20' },
    failovers: { type: 'string', default: '4' },
    seed: { type: 'string', default: String(Date.now() % 100_000) },
    'lease-ms': { type: 'string', default: '6000' },
  },
});
const kills = Number(values.kills);
const failovers = Number(values.failovers);
const seed = Number(values.seed);
const leaseMs = Number(values['lease-ms']);
if (!Number.isInteger(kills) || kills < 1) throw new Error('--kills must be a positive integer');
if (!Number.isInteger(failovers) || failovers < 0 || failovers > kills) {
  throw new Error('--failovers must be an integer from 0 to --kills');
}
const NODES = 3;
/**
 * The lease outlasts a failover (down-after 1 s, then the promotion): no node takes a live
 * one for dead because Redis was away. `cluster.wait`: one replica, 2 s at most;
 * `timeout + heartbeatMs < leaseMs` (a WAIT holds the connection the renewals go on).
 */
const heartbeatMs = Math.floor(leaseMs / 12);
const WAIT_S = 2;

// The same seed, the same schedule.
const rng = random(seed);

/** The rounds after (or during) which the master is killed, and how. */
const schedule = new Map<number, 'between' | 'during'>();
const rounds = Array.from({ length: kills }, (_, i) => i);
for (let i = rounds.length - 1; i > 0; i--) {
  const j = Math.floor(rng() * (i + 1));
  [rounds[i], rounds[j]] = [rounds[j]!, rounds[i]!];
}
for (const round of rounds.slice(0, failovers)) {
  schedule.set(round, rng() < 0.5 ? 'between' : 'during');
}

const dir = mkdtempSync(join(tmpdir(), 'pipit-soak-failover-'));
console.log(
  `soak: ${kills} node kills, ${failovers} master failovers, seed ${seed}, leaseMs ${leaseMs}; logs in ${dir}`,
);
console.log(
  `  failovers: ${[...schedule]
    .sort(([a], [b]) => a - b)
    .map(([round, mode]) => `${mode} round ${round}`)
    .join(', ')}`,
);

const sentinel = await SentinelFixture.start({
  downAfterMs: 1000,
  failoverTimeoutMs: 3000,
  durable: true,
});
const redis = new Redis({ sentinels: sentinel.sentinels, name: sentinel.name, protocol: 2 });
redis.on('error', () => {}); // reconnecting through a failover: the commands wait meanwhile
const config = join(dir, 'pipit.yaml');
writeFileSync(
  config,
  [
    'cluster:',
    `  url: redis://${sentinel.name}`,
    `  sentinels: [127.0.0.1:${sentinel.ports.sentinel}]`,
    `  name: ${sentinel.name}`,
    `  leaseMs: ${leaseMs}`,
    `  heartbeatMs: ${heartbeatMs}`,
    `  wait: { replicas: 1, timeout: ${WAIT_S} }`,
    '',
  ].join('\n'),
);
const run = new CrashLoopRun({
  startNode: () => startCliNode(undefined, ['-c', config]),
  redis,
  dir,
});
/** The failover windows (the others are node-death windows). */
const failoverWindows = new Set<CrashWindow>();
let failed: unknown;
const started = Date.now();

/**
 * Kills the master; the sentinel promotes the replica; the killed server comes back as its
 * replica. Opens a failover window for each subscriber not in a window, and closes them.
 */
async function failover(n: number, mode: string): Promise<void> {
  const port = await sentinel.masterPort();
  const at = Date.now();
  const kill = `failover ${n} (${mode}) master ${port} at ${at}`;
  const open = run.subscribers.filter((s) => !run.windows.has(s.topic));
  const movesBefore = new Map(open.map((s) => [s.clientId, run.movesOf(s.clientId)]));
  run.openWindows(open, () => {
    const window: CrashWindow = { moved: false, kill };
    failoverWindows.add(window);
    return window;
  });
  const held = run.subscribers[Math.floor(rng() * run.subscribers.length)]!;
  let back = (): void => {};
  const away = new Promise<void>((resolve) => (back = resolve));
  for (const s of run.subscribers) s.bounce(s === held ? away : undefined);
  const killed = await sentinel.killMaster();
  const promoted = await sentinel.promoted(killed);
  const promotedAfter = (Date.now() - at) / 1000;
  back();
  await sentinel.restartAsReplica(killed);
  run.events.push(
    `${Date.now()} ${kill}: ${promoted} promoted, ${killed} back as its replica (${held.clientId} kept away until the promotion)`,
  );
  await waitFor(
    () => open.every((s) => s.node !== undefined),
    60_000,
    'the subscribers to reconnect after the failover',
  );
  for (const s of open) {
    await run.probe(s, `failover-${n}`);
    run.windows.get(s.topic)!.moved = run.movesOf(s.clientId) > movesBefore.get(s.clientId)!;
    run.windows.delete(s.topic);
  }
  console.log(
    `  ${kill}: ${promoted} promoted after ${promotedAfter.toFixed(1)} s, windows closed after ${((Date.now() - at) / 1000).toFixed(1)} s`,
  );
}

/** Probes that never reached their subscriber (the run goes on: what else happens is counted). */
const probeFailures: string[] = [];

/** Runs `step`; a probe that never arrived is noted and its windows closed, the run goes on. */
async function probing(step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (err) {
    const message = (err as Error).message;
    if (!message.startsWith('probes on ')) throw err;
    probeFailures.push(`${Date.now()} ${message}`);
    console.log(`  PROBE FAILED at ${Date.now()}: ${message}`);
    run.windows.clear();
  }
}

/** The lines of the nodes' logs that say a node found its lease gone from Redis. */
function leasesLost(): string[] {
  return readdirSync(dir)
    .filter((f) => /^node-\d+\.log$/.test(f))
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter((line) => line.includes('lease was lost'))
        .map((line) => `${f}: ${line}`),
    );
}

let tally: CrashLoopTally | undefined;
try {
  await run.startNodes(NODES);
  await run.startClients('soak');
  let done = 0;
  for (let round = 0; round < kills; round++) {
    const mode = schedule.get(round);
    const during = mode === 'during' ? () => failover(done++, 'during') : undefined;
    await probing(() => run.killAndRestart(round % NODES, round, during));
    if (mode === 'between') await probing(() => failover(done++, 'between'));
    const acked = run.publishers.reduce((n, p) => n + p.acknowledged.length, 0);
    console.log(
      `  round ${round + 1}/${kills} (${Math.round((Date.now() - started) / 1000)} s): acknowledged ${acked}`,
    );
  }
} catch (err) {
  failed = err;
  console.log(`soak stopped: ${(err as Error).stack ?? err}`);
}
if (failed instanceof FailoverIncomplete) {
  // Not the broker's doing: Redis itself may have lost acknowledged keys. No tally.
  await run.stop().catch(() => {});
  redis.disconnect();
  await sentinel.stop();
  const lost = leasesLost();
  console.log(
    [
      `RUN INVALID (seed ${seed}): the sentinel fixture could not complete a failover: ${failed.message}.`,
      'Redis may have lost keys, so losses, duplicates and lost sessions after it would not be',
      "the broker's: no tally. Run the seed again (a starved machine makes this likelier).",
      `Nodes that found their lease gone ("lease was lost"): ${lost.length}`,
      ...lost.slice(0, 10).map((line) => `  ${line}`),
      `logs: ${dir}`,
    ].join('\n'),
  );
  process.exit(2);
}
try {
  tally = await run.finish();
} catch (err) {
  failed ??= err;
}
const references = await readReferences(redis).catch(() => []);
const wrongCounts = wrongReferences(references);
await run.stop().catch(() => {});
redis.disconnect();
await sentinel.stop();

if (tally === undefined) {
  console.log(`no tally: ${(failed as Error)?.stack ?? failed}`);
  process.exit(1);
}
const { all, windowLost, movedLost } = tally;
const inFailover = (m: { window: CrashWindow | undefined }): boolean =>
  m.window !== undefined && failoverWindows.has(m.window);
const failoverLost = windowLost.filter(inFailover);
const deathLost = windowLost.filter((m) => !inFailover(m));
const lost = tally.missing.length + windowLost.length;
const ok =
  failed === undefined &&
  probeFailures.length === 0 &&
  lost === 0 &&
  tally.duplicated(2).length === 0 &&
  tally.sessionsLost === 0 &&
  tally.foreign.length === 0;
const summary = {
  ok,
  seed,
  kills,
  failovers,
  seconds: Math.round((Date.now() - started) / 1000),
  acknowledged: all.length,
  acknowledgedQos1: all.filter((m) => m.qos === 1).length,
  acknowledgedQos2: all.filter((m) => m.qos === 2).length,
  unacknowledged: tally.unacknowledged,
  inNodeDeathWindows: all.filter((m) => m.inWindow && !inFailover(m)).length,
  lostInNodeDeathWindows: deathLost.length,
  inFailoverWindows: all.filter(inFailover).length,
  lostInFailoverWindows: failoverLost.length,
  inWindowsWithSessionMove: tally.movedWindows,
  lostInWindowsWithSessionMove: movedLost.length,
  lostOutsideWindows: tally.missing.length,
  duplicatesQos1: tally.duplicated(1).length,
  duplicatesQos2: tally.duplicated(2).length,
  sessionsLost: tally.sessionsLost,
  otherTopic: tally.foreign.length,
  probeFailures: probeFailures.length,
  // Not counted against the run: a node starved past its lease logs it too.
  leasesLost: leasesLost().length,
  messageBodies: references.filter((r) => r.body).length,
  bodiesWithWrongCount: wrongCounts.length,
  logs: dir,
};
console.log(JSON.stringify(summary, null, 2));
if (!ok) {
  const show = (m: CrashLoopTally['all'][number]): string =>
    `${m.payload} qos ${m.qos} via ${m.via} at ${m.at} (${m.window?.kill ?? 'no window'})`;
  console.log('lost outside windows:', tally.missing.slice(0, 20).map(show));
  console.log('lost in windows:', windowLost.slice(0, 20).map(show));
  console.log(
    'QoS 2 twice:',
    tally
      .duplicated(2)
      .slice(0, 10)
      .map((m) => `${m.payload}: ${run.subscriberOf(m.topic).arrivals.get(m.payload)!.join(', ')}`),
  );
  console.log('on another topic:', tally.foreign.slice(0, 10));
}
process.exit(ok ? 0 : 1);
