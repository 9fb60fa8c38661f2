#!/usr/bin/env node
// Builds the dashboard (dashboard/, Vite + Preact + uPlot) into dist/dashboard/: index.html
// and hashed assets under assets/. The broker serves that folder at / (src/http/dashboard).
// It builds into a folder of its own and then swaps it in, so that a broker or a test
// reading dist/dashboard never sees half a build, and two builds at once do not mix.
//
//   node scripts/build-dashboard.mjs             always build (npm run build:dashboard)
//   node scripts/build-dashboard.mjs --if-stale  only when dist/dashboard is missing or older
//                                                than a source (npm start, npm test)
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'dashboard');
const out = join(root, 'dist', 'dashboard');
const stamp = join(out, 'index.html');
const inputs = [source, join(root, 'package.json'), fileURLToPath(import.meta.url)];

/** Newest modification time under `path` (directories count: a deleted file touches one). */
function newest(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}

/** True when dist/dashboard is missing or older than one of its sources. */
export function dashboardIsStale() {
  if (!existsSync(stamp)) return true;
  const built = statSync(stamp).mtimeMs;
  return inputs.some((input) => newest(input) > built);
}

/** Builds the dashboard into dist/dashboard (see the file comment). */
export async function buildDashboard() {
  let vite;
  try {
    vite = await import('vite');
  } catch {
    throw new Error('build-dashboard: vite is not installed (a dev dependency: run npm install)');
  }
  const staging = join(root, 'dist', `.dashboard-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  await vite.build({
    root: source,
    base: '/',
    configFile: false,
    logLevel: 'warn',
    // TSX with Preact's automatic runtime (no preset plugin needed).
    oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
    build: {
      outDir: staging,
      emptyOutDir: true,
      assetsDir: 'assets',
      sourcemap: false,
      target: 'es2022',
      reportCompressedSize: false,
    },
  });
  const old = `${out}.old-${process.pid}`;
  if (existsSync(out)) renameSync(out, old);
  renameSync(staging, out);
  rmSync(old, { recursive: true, force: true });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--if-stale') && !dashboardIsStale()) process.exit(0);
  try {
    await buildDashboard();
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
