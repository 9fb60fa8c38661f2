#!/usr/bin/env node
// Compiles src/ to dist/ (JavaScript and declarations, no source maps) after deleting dist/,
// so that no file of a renamed or deleted module is left behind to be packed; then builds the
// dashboard into dist/dashboard (scripts/build-dashboard.mjs).
//
//   node scripts/build.mjs             always build (npm run build, prepack)
//   node scripts/build.mjs --if-stale  build only when dist/ is missing or older than a
//                                      source (prepare on install, prestart)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDashboard, dashboardIsStale } from './build-dashboard.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const stamp = join(dist, 'cli', 'main.js');
const inputs = ['src', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];

/** Newest modification time under `path`; directories count too (a deleted file touches its directory). */
function newest(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}

function isStale() {
  if (!existsSync(stamp)) return true;
  const built = statSync(stamp).mtimeMs;
  return inputs.some((input) => newest(join(root, input)) > built);
}

/** Builds the dashboard (after tsc: deleting dist/ deleted it too); exits 1 if that fails. */
async function dashboard() {
  try {
    await buildDashboard();
  } catch (err) {
    console.error(`build: the dashboard: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  }
}

if (process.argv.includes('--if-stale') && !isStale()) {
  if (dashboardIsStale()) await dashboard();
  process.exit(0);
}

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  console.error('build: typescript is not installed (it is a dev dependency: run npm install)');
  process.exit(1);
}
rmSync(dist, { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
if (result.status !== 0) process.exit(result.status ?? 1);
await dashboard();
