#!/usr/bin/env node
// Runs every test file with node:test. Node 20 runs zero tests (and exits 0) when given a
// folder, so the files are listed here, and an empty list is an error.
//
// The behaviour suites (test/core, test/integration) then run twice more, with the memory
// store and with the SQLite store (PIPIT_TEST_STORE, read by test/helpers/test-store.ts), so
// that every behaviour holds with each store. With PIPIT_TEST_STORE set, there is one run,
// with that store. The last lines are the summary of all runs; any failing run fails.
//
//   node scripts/run-tests.mjs [substring...]   files whose path contains one of them
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
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
function run(label, files, store, tapFile) {
  console.log(`\nrun-tests: ${label} (${files.length} files)\n`);
  const started = Date.now();
  const env = store === undefined ? process.env : { ...process.env, PIPIT_TEST_STORE: store };
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-concurrency=2',
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
const fixedStore = process.env.PIPIT_TEST_STORE;
const plan = [{ label: `all files, store: ${fixedStore ?? 'none'}`, files, store: undefined }];
if (fixedStore === undefined && behaviour.length > 0) {
  plan.push({ label: 'behaviour suites, store: memory', files: behaviour, store: 'memory' });
  plan.push({ label: 'behaviour suites, store: sqlite', files: behaviour, store: 'sqlite' });
}

const tapDir = mkdtempSync(join(tmpdir(), 'pipit-run-tests-'));
const runs = plan.map((p, i) => run(p.label, p.files, p.store, join(tapDir, `run-${i}.tap`)));
rmSync(tapDir, { recursive: true, force: true });

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
