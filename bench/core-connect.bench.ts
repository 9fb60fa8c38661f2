/**
 * The CPU one connection costs Pipit's own code, from a fresh process to a warm one (issue
 * #17: "at least Mosquitto's connection rate"): a compiled BrokerCore (dist/) without sockets
 * opens connections, feeds each a CONNECT (MQTT 3.1.1, clean session, as mqtt-load sends it)
 * through a sink that drops what is written, and closes them as their transport would; the
 * process CPU (all threads: V8 compiles on background threads) per connection is printed per
 * batch. No kernel, no Node sockets, no other process in the figure, so it is steadier than
 * bench/conn-floor.bench.ts on a busy machine, and shows what the first batches cost while
 * V8 is still interpreting and compiling the connect path against what it costs once warm.
 *
 * With `PIPIT_BASE_DIST=<dir>` (another build's dist/, e.g. main's in a second worktree) the
 * rounds alternate between the two builds, each round a fresh process.
 *
 *   node --import tsx bench/core-connect.bench.ts [total] [batch] [rounds]   (default: 20000 2500 3)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** One fresh process: CPU µs per connection of each batch, in order. */
async function child(dist: string, total: number, batch: number): Promise<void> {
  const { createBroker } = await import(pathToFileURL(join(dist, 'index.js')).href);
  const { encode } = await import(pathToFileURL(join(dist, 'protocol', 'index.js')).href);
  const core = createBroker({ maxConnections: 0 }).core;
  const sink = {
    bufferedBytes: 0,
    write() {},
    pause() {},
    resume() {},
    end() {},
    notifyWhenDrained() {},
  };
  // Encoded before the clock starts: the figure is the broker's alone.
  const packets: Buffer[] = [];
  for (let i = 0; i < total; i++) {
    const clientId = `mlc-abcdef-${String(i).padStart(7, '0')}`;
    const fields = { protocolName: 'MQTT', protocolVersion: 4, clean: true, keepAlive: 0 };
    packets.push(encode({ type: 'connect', ...fields, clientId }, 4));
  }
  const figures: number[] = [];
  for (let start = 0; start + batch <= total; start += batch) {
    const cpu0 = process.cpuUsage();
    const conns = [];
    for (let i = start; i < start + batch; i++) {
      const conn = core.openConnection(sink, { listener: 'tcp', remoteAddress: '127.0.0.1' });
      conn.receive(packets[i]!);
      conns.push(conn);
    }
    for (const conn of conns) conn.transportClosed();
    const cpu = process.cpuUsage(cpu0);
    figures.push((cpu.user + cpu.system) / batch);
  }
  console.log(JSON.stringify(figures));
}

function runChild(dist: string, total: number, batch: number): number[] {
  const out = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--child',
      dist,
      String(total),
      String(batch),
    ],
    { cwd: root, encoding: 'utf8' },
  );
  if (out.status !== 0) throw new Error(`child failed: ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split('\n').at(-1)!) as number[];
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 20_000);
  const batch = Number(process.argv[3] ?? 2_500);
  const rounds = Number(process.argv[4] ?? 3);
  execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { cwd: root });
  const builds: [string, string][] = [['pipit', join(root, 'dist')]];
  const base = process.env.PIPIT_BASE_DIST;
  if (base) builds.push(['pipit-base', resolve(base)]);
  console.log(
    `CPU µs per connection by batch of ${batch} (first: a fresh process), ${total} in all`,
  );
  for (let round = 1; round <= rounds; round++) {
    for (const [name, dist] of builds) {
      const figures = runChild(dist, total, batch);
      const warm = figures.slice(-2).reduce((a, b) => a + b, 0) / 2;
      const shown = figures.map((f) => f.toFixed(1)).join(' ');
      console.log(`round ${round} ${name}: ${shown} | last two batches ${warm.toFixed(2)}`);
    }
  }
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]));
} else {
  await main();
}
