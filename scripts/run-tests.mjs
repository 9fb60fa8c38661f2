#!/usr/bin/env node
// Runs every test file with node:test. Node 20 runs zero tests (and exits 0) when given a
// folder, so the files are listed here, and an empty list is an error. Two files run at a
// time, except the hostile-load files (test/hostile/load), which run after, one at a time.
//
// The behaviour suites (test/core, test/integration) then run once more with the SQLite store
// (PIPIT_TEST_STORE, read by test/helpers/test-store.ts), so that every behaviour holds with
// no store (what `pipit broker --memory` runs) and with a durable one. With PIPIT_TEST_STORE
// set, there is one run, with that store. The last lines are the summary of all runs; any
// failing run fails. PIPIT_TEST_STORE=memory runs them with the MemoryStore (an embedding
// option only; its port contract is checked by test/contracts with every store): not one of
// the default runs, whose time is dominated by starting one process per file (~1 min a run).
// PIPIT_TEST_STORE=redis runs them with the Redis store, on a redis-server this script
// starts (unless PIPIT_TEST_REDIS_URL names one): for test/integration (brokers, which await
// the store's open); the core harness of test/core needs a store that opens synchronously.
// It is not one of the default runs (it adds about 3 minutes).
// The dashboard's browser tests (test/dashboard) serve dist/dashboard: it is built first when
// missing or older than its sources (a fresh clone has none), once, before the runs start.
//
//   node scripts/run-tests.mjs [substring...]   files whose path contains one of them
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Folders whose tests run once per store. */
const BEHAVIOUR_SUITES = ['test/core/', 'test/integration/'];
/**
 * Files of those folders whose every broker or core names its own store: another run would
 * only repeat them (and retained-expiry's timing under load).
 */
const OWN_STORE = [
  'test/core/qos2-onward-after-commit.test.ts',
  'test/integration/retained-expiry.test.ts',
];
/**
 * Files that flood a broker and check it still serves a client within a second: they run
 * one at a time after the others, so that no other test file competes with them for the CPU
 * (on a 2-core machine a second busy file made the served check miss its second).
 */
const ALONE = 'test/hostile/load/';
/** The counters of node:test's summary, in its order. */
const COUNTERS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo'];

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

/** Reads the summary node:test's TAP reporter writes last (`# tests 12` ...). */
function readTapSummary(file) {
  const summary = {};
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const match of text.matchAll(/^# (\w+) (\d+(?:\.\d+)?)$/gm)) {
    summary[match[1]] = Number(match[2]);
  }
  return 'tests' in summary ? summary : undefined;
}

/** Runs `files` with node:test and `store` (undefined: the environment's). */
function run(label, files, store, tapFile, concurrency = 2) {
  console.log(`\nrun-tests: ${label} (${files.length} files)\n`);
  const started = Date.now();
  const env = store === undefined ? process.env : { ...process.env, PIPIT_TEST_STORE: store };
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      `--test-concurrency=${concurrency}`,
      '--test-timeout=300000',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tapFile}`,
      ...files,
    ],
    { stdio: 'inherit', env },
  );
  return {
    label,
    status: result.status ?? 1,
    summary: readTapSummary(tapFile),
    seconds: (Date.now() - started) / 1000,
  };
}

/** A free loopback port. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a redis-server (append-only, fsync always, data in a temp dir) for a run with the
 * Redis store; resolves with its URL and how to stop it. Its log goes to a file, read until
 * it is ready (this script then blocks in spawnSync, so nothing may wait on a pipe).
 */
async function startRedis() {
  // A port of the OS's ephemeral range, which any process may take before redis-server binds
  // it (nothing else of this run has started yet): another port if its log says so.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRedisOn(await freePort());
    } catch (err) {
      if (attempt >= 5 || !/Address already in use/.test(String(err))) throw err;
    }
  }
}

/** {@link startRedis} on `port`. */
async function startRedisOn(port) {
  const dir = mkdtempSync(join(tmpdir(), 'pipit-run-tests-redis-'));
  const log = join(dir, 'redis.log');
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
  args.push('--appendonly', 'yes', '--appendfsync', 'always', '--logfile', log);
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  const readLog = () => {
    try {
      return readFileSync(log, 'utf8');
    } catch {
      return ''; // not written yet
    }
  };
  for (;;) {
    const exited = child.exitCode !== null;
    // Read after the exit check: an exited server's log is complete ("Address already in use").
    const text = readLog();
    if (text.includes('Ready to accept connections')) break;
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`run-tests: redis-server did not start:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const filter = process.argv.slice(2);
let files = findTests('test').sort();
if (filter.length > 0) files = files.filter((f) => filter.some((p) => f.includes(p)));
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
const behaviour = files.filter((f) => {
  const path = f.replaceAll('\\', '/');
  return BEHAVIOUR_SUITES.some((suite) => path.startsWith(suite)) && !OWN_STORE.includes(path);
});
const alone = files.filter((f) => f.replaceAll('\\', '/').startsWith(ALONE));
const together = files.filter((f) => !alone.includes(f));
// Child processes of the tests run the compiled CLI (test/helpers/cli-entry.ts): build dist/
// first when it is older than the sources (a no-op after `npm ci`, whose prepare built it).
{
  const built = spawnSync(process.execPath, ['scripts/build.mjs', '--if-stale'], {
    stdio: 'inherit',
  });
  if (built.status !== 0) {
    console.error('run-tests: building dist/ failed');
    process.exit(1);
  }
}
if (files.some((f) => f.replaceAll('\\', '/').startsWith('test/dashboard/'))) {
  const built = spawnSync(process.execPath, ['scripts/build-dashboard.mjs', '--if-stale'], {
    stdio: 'inherit',
  });
  if (built.status !== 0) {
    console.error('run-tests: building the dashboard failed');
    process.exit(1);
  }
}
const fixedStore = process.env.PIPIT_TEST_STORE;
const storeLabel = `store: ${fixedStore ?? 'none'}`;
const plan = [];
if (together.length > 0) plan.push({ label: `all files, ${storeLabel}`, files: together });
if (alone.length > 0) {
  plan.push({
    label: `hostile load, one file at a time, ${storeLabel}`,
    files: alone,
    concurrency: 1,
  });
}
if (fixedStore === undefined && behaviour.length > 0) {
  plan.push({ label: 'behaviour suites, store: sqlite', files: behaviour, store: 'sqlite' });
}

const needsRedis =
  process.env.PIPIT_TEST_REDIS_URL === undefined &&
  (fixedStore === 'redis' || plan.some((p) => p.store === 'redis'));
const redis = needsRedis ? await startRedis() : undefined;
if (redis !== undefined) process.env.PIPIT_TEST_REDIS_URL = redis.url;
const tapDir = mkdtempSync(join(tmpdir(), 'pipit-run-tests-'));
const runs = plan.map((p, i) =>
  run(p.label, p.files, p.store, join(tapDir, `run-${i}.tap`), p.concurrency),
);
rmSync(tapDir, { recursive: true, force: true });
redis?.stop();

// One summary for every run, last, in node:test's own form.
const total = Object.fromEntries(COUNTERS.map((c) => [c, 0]));
console.log('\nrun-tests: summary');
for (const r of runs) {
  const s = r.summary;
  const counts = s ? `${s.tests} tests, ${s.pass} passed, ${s.fail} failed` : 'no summary';
  const verdict = r.status === 0 ? 'ok' : `FAILED (exit ${r.status})`;
  console.log(`  ${r.label}: ${counts}, ${r.seconds.toFixed(0)} s: ${verdict}`);
  if (s) for (const c of COUNTERS) total[c] += s[c] ?? 0;
}
for (const c of COUNTERS) console.log(`ℹ ${c} ${total[c]}`);
const seconds = runs.reduce((sum, r) => sum + r.seconds, 0);
console.log(`ℹ duration_ms ${Math.round(seconds * 1000)}`);
const failed = runs.filter((r) => r.status !== 0);
if (failed.length > 0) {
  console.error(`run-tests: failed: ${failed.map((r) => r.label).join('; ')}`);
  process.exit(1);
}
