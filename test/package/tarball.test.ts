/**
 * The package as npm publishes it: `npm pack` (its `prepack` builds dist/), the list of what
 * the tarball carries, and the tarball installed with npm into a temporary project with no
 * tsx, where the README's embedding example runs as plain JavaScript, `npx pipit --version`
 * answers, and TypeScript accepts the public types with skipLibCheck off.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  addDevPackage,
  cleanEnv,
  installIntoTempProject,
  npmPack,
  type PackResult,
  REPO_ROOT,
  readmeEmbeddingExample,
} from './packing.js';

const version = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version;

describe('the npm package', { timeout: 240_000 }, () => {
  let packDir: string;
  let pack: PackResult & { tarball: string };
  let project: string;

  before(() => {
    packDir = mkdtempSync(join(tmpdir(), 'pipit-pack-'));
    pack = npmPack(packDir);
    project = installIntoTempProject(pack.tarball);
  });
  after(() => {
    rmSync(packDir, { recursive: true, force: true });
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('carries the compiled code, its types, the bin, the README and the licence: no sources, maps or tests', () => {
    const paths = pack.files.map((f) => f.path);
    for (const needed of [
      'package.json',
      'README.md',
      'LICENSE',
      'bin/pipit.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'dist/client/index.js',
      'dist/client/index.d.ts',
      'dist/dashboard/index.html',
    ]) {
      assert.ok(paths.includes(needed), `${needed} is missing from the tarball`);
    }
    const unexpected = paths.filter(
      (p) =>
        !(
          p.startsWith('dist/') ||
          ['package.json', 'README.md', 'LICENSE', 'bin/pipit.js'].includes(p)
        ),
    );
    assert.deepEqual(unexpected, []);
    // The built dashboard: a user never runs a frontend build.
    assert.ok(
      paths.some((p) => /^dist\/dashboard\/assets\/index-[\w-]{8}\.js$/.test(p)),
      'the dashboard script is in the tarball',
    );
    assert.deepEqual(
      paths.filter((p) => p.endsWith('.map')),
      [],
    );
    assert.deepEqual(
      paths.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts')),
      [],
    );
  });

  it('installs without tsx or esbuild: they are development dependencies only', () => {
    assert.ok(existsSync(join(project, 'node_modules', 'pipit', 'dist', 'index.js')));
    assert.equal(existsSync(join(project, 'node_modules', 'tsx')), false);
    assert.equal(existsSync(join(project, 'node_modules', 'esbuild')), false);
    const manifest = JSON.parse(
      readFileSync(join(project, 'node_modules', 'pipit', 'package.json'), 'utf8'),
    );
    assert.equal(manifest.dependencies.tsx, undefined);
  });

  it("runs the README's embedding example from plain JavaScript", () => {
    const appCode = [
      "const client = await connect({ port: address.port, username: 'alice', password: 'secret' });",
      'const got = new Promise((resolve) =>',
      "  client.on('message', (topic, payload) => resolve(topic + ' ' + payload)),",
      ');',
      "await client.subscribe('alice/#', { qos: 1 });",
      "await client.publish('alice/greeting', 'hello', { qos: 1 });",
      "console.log('received', await got);",
      'await client.end();',
    ].join('\n');
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const example = readmeEmbeddingExample(readme, appCode);
    writeFileSync(join(project, 'example.mjs'), `import { connect } from 'pipit';\n${example}`);
    const run = spawnSync(process.execPath, ['example.mjs'], {
      cwd: project,
      env: cleanEnv(),
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^connected \S+$/m);
    assert.match(run.stdout, /^received alice\/greeting hello$/m);
  });

  it('answers `npx pipit --version` with the package version', () => {
    // `--` ends npx's own options, which include --version.
    const out = execFileSync('npx', ['--no', '--', 'pipit', '--version'], {
      cwd: project,
      env: cleanEnv(),
      encoding: 'utf8',
    });
    assert.equal(out.trim(), version);
  });

  it('has public types that compile with skipLibCheck off and no better-sqlite3 or ws types; the configuration example of the docs compiles', () => {
    addDevPackage(project, '@types/node');
    addDevPackage(project, 'undici-types'); // @types/node's own dependency
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          types: ['node'],
        },
        files: ['check.ts', 'config-example.ts'],
      }),
    );
    writeFileSync(
      join(project, 'check.ts'),
      [
        "import { AclFile, aclFileHook, connect as connectFromRoot, createBroker, loadConfigFile, loadSecurity, PasswordFile, passwordFileHook, SqliteStore } from 'pipit';",
        "import { connect, MqttClient, ReconnectingClient } from 'pipit/client';",
        'const broker = createBroker({ persistence: { kind: "memory" } });',
        'const hooks = [passwordFileHook(PasswordFile.parse("")), aclFileHook(AclFile.parse(""))];',
        'void [broker, hooks, connect, connectFromRoot, MqttClient, ReconnectingClient, loadConfigFile, loadSecurity, SqliteStore];',
        '',
      ].join('\n'),
    );
    // The example of docs/configuration.md, with the user store it leaves to the reader.
    const docs = readFileSync(join(REPO_ROOT, 'docs', 'configuration.md'), 'utf8');
    const section = docs.slice(docs.indexOf('## The same configuration from code'));
    const snippet = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(snippet, 'docs/configuration.md has the example');
    writeFileSync(
      join(project, 'config-example.ts'),
      `declare const myUsers: { check(user?: string, password?: Buffer): Promise<boolean> };\n${snippet}`,
    );
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const run = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], {
      cwd: project,
      env: cleanEnv(),
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.equal(existsSync(join(project, 'node_modules', '@types', 'better-sqlite3')), false);
    assert.equal(existsSync(join(project, 'node_modules', '@types', 'ws')), false);
  });
});
