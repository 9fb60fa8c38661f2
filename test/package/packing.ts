/**
 * Helpers for the package test: `npm pack` of this repository, and a temporary project that
 * installs the tarball with npm.
 *
 * Installing the tarball into an empty project would make npm compile better-sqlite3 from
 * source (about 90 s here: no prebuilt binaries are reachable). Instead the project's
 * node_modules starts with a copy of the runtime dependencies this checkout already has
 * (what `npm ls --omit=dev` lists, so dev dependencies such as tsx are not there), and npm
 * installs the tarball with `--offline`: it must find every dependency the tarball declares
 * already in place, or fail. What the tarball itself carries (dist, bin, package.json) is
 * exactly what `npm pack` made.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The environment for npm and node children: no inherited Node options (no tsx loader). */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_PATH;
  return env;
}

/** What `npm pack --json` reports about one tarball. */
export interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string; size: number }[];
}

/** Runs `npm pack` (which runs `prepack`) into `dest` and returns npm's report. */
export function npmPack(dest: string): PackResult & { tarball: string } {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dest], {
    cwd: REPO_ROOT,
    env: cleanEnv(),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 16 * 1024 * 1024,
  });
  // Lifecycle scripts may print before the JSON; the report is the last JSON array.
  const report = JSON.parse(out.slice(out.indexOf('[\n'))) as PackResult[];
  return { ...report[0], tarball: join(dest, report[0].filename) };
}

/** Directories (relative to node_modules) of the runtime dependencies, nested ones included. */
function runtimeDependencyDirs(): string[] {
  const out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
    cwd: REPO_ROOT,
    env: cleanEnv(),
    encoding: 'utf8',
  });
  const modules = join(REPO_ROOT, 'node_modules') + sep;
  return out
    .split('\n')
    .filter((line) => line.startsWith(modules))
    .map((line) => relative(join(REPO_ROOT, 'node_modules'), line));
}

/**
 * Creates a project in a fresh temporary directory (outside the repository, so no parent
 * node_modules is in reach), with the runtime dependencies in place, and installs `tarball`.
 */
export function installIntoTempProject(tarball: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pipit-consumer-'));
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' })}\n`,
  );
  for (const pkg of runtimeDependencyDirs()) {
    const target = join(dir, 'node_modules', pkg);
    mkdirSync(dirname(target), { recursive: true });
    // dereference: node_modules may be a symlink to another checkout's.
    cpSync(join(REPO_ROOT, 'node_modules', pkg), target, { recursive: true, dereference: true });
  }
  execFileSync('npm', ['install', tarball, '--offline', '--no-audit', '--no-fund'], {
    cwd: dir,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return dir;
}

/** Copies a dev-only package (e.g. @types/node) into the project, for a type check. */
export function addDevPackage(project: string, name: string): void {
  cpSync(join(REPO_ROOT, 'node_modules', name), join(project, 'node_modules', name), {
    recursive: true,
    dereference: true,
  });
}

/**
 * The README's embedding example (the first code block under "## Embedding"), made to run
 * in a test: the fixed ports become 0 (any free port), and the `// ...` placeholder, where
 * an application's own code goes, becomes `appCode`.
 */
export function readmeEmbeddingExample(readme: string, appCode: string): string {
  const section = readme.slice(readme.indexOf('## Embedding'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error('README: no ```ts block under "## Embedding"');
  const code = match[1];
  if (!code.includes('// ...')) throw new Error('README example: no "// ..." placeholder');
  return code.replace(/port: \d+/g, 'port: 0').replace('// ...', appCode);
}
