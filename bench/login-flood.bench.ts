/**
 * Good-login latency under a flood of bad logins: the real `pipit broker` (a child process,
 * PBKDF2-SHA512 password file at the default cost) takes BENCH_RATE bad logins per second
 * from BENCH_SOURCES loopback addresses (127.0.0.10 ...) for BENCH_FLOOD seconds, while a
 * good login (right password, from 127.0.0.2) starts every BENCH_PROBE ms. It prints the
 * good logins' time to CONNACK 0x00 (p50/p99/max, misses) during the flood and after it
 * stops, and what the bad logins were answered.
 *
 *   node --import tsx bench/login-flood.bench.ts
 *   BENCH_RATE=100 BENCH_FLOOD=20 BENCH_TARGET=alice node --import tsx bench/login-flood.bench.ts
 *
 * BENCH_TARGET: `random` (default: a new unknown username per bad login) or `alice` (bad
 * passwords for the good user's own name). BENCH_GOOD: `alice` (default: the same user every
 * time, so the success cache answers from the second login on) or `rotate` (alice, bob,
 * carol, dave in turn, with BENCH_CONFIG adding `cacheSize: 0` to measure uncached logins).
 * BENCH_CONFIG: YAML appended to the broker's configuration (for example
 * `limits:\n  addressLimitsOnLoopback: true`); BENCH_AUTH: lines added under `auth:` (for
 * example `login:\n  cacheSize: 0`). Not a test.
 */
import { join } from 'node:path';
import { PasswordFile } from '../src/hooks/index.js';
import { connectBytes, RawClient } from '../test/helpers/raw-client.js';
import { LoadBroker, sleep, tempDir } from '../test/hostile/load/harness.js';

const RATE = Number(process.env.BENCH_RATE ?? 34);
const SOURCES = Number(process.env.BENCH_SOURCES ?? 4);
const FLOOD_S = Number(process.env.BENCH_FLOOD ?? 20);
const AFTER_S = Number(process.env.BENCH_AFTER ?? 10);
const PROBE_MS = Number(process.env.BENCH_PROBE ?? 250);
const TARGET = process.env.BENCH_TARGET ?? 'random';
const GOOD = process.env.BENCH_GOOD ?? 'alice';
const EXTRA_CONFIG = process.env.BENCH_CONFIG ?? '';
const EXTRA_AUTH = process.env.BENCH_AUTH ?? '';
/** A login not answered within this is a miss (the broker's connect timeout is 10 s). */
const GIVE_UP_MS = 15_000;
const USERS = ['alice', 'bob', 'carol', 'dave'];

/** One login: the CONNACK code and the time to it, or undefined when none came. */
async function login(
  port: number,
  from: string,
  username: string,
  password: string,
): Promise<{ code: number | undefined; ms: number }> {
  const started = performance.now();
  let client: RawClient | undefined;
  try {
    client = await RawClient.openFrom(port, 4, from);
    client.write(connectBytes(4, '', { clean: true, username, password: Buffer.from(password) }));
    const connack = await client.next('connack', GIVE_UP_MS);
    return { code: connack.reasonCode, ms: performance.now() - started };
  } catch {
    return { code: undefined, ms: performance.now() - started };
  } finally {
    client?.destroy();
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summary(label: string, samples: { code: number | undefined; ms: number }[]): void {
  const ok = samples.filter((s) => s.code === 0).map((s) => s.ms);
  ok.sort((a, b) => a - b);
  const missed = samples.length - ok.length;
  const codes = new Map<string, number>();
  for (const s of samples) {
    if (s.code === 0) continue;
    const key = s.code === undefined ? 'none' : `0x${s.code.toString(16)}`;
    codes.set(key, (codes.get(key) ?? 0) + 1);
  }
  const fmt = (n: number) => (Number.isNaN(n) ? '-' : n.toFixed(0));
  console.log(
    `${label}: ${samples.length} good logins, ${missed} not accepted ${JSON.stringify(Object.fromEntries(codes))}; ` +
      `p50 ${fmt(percentile(ok, 50))} ms, p99 ${fmt(percentile(ok, 99))} ms, ` +
      `max ${fmt(ok.length ? ok[ok.length - 1]! : Number.NaN)} ms, ` +
      `within 1 s: ${ok.filter((ms) => ms <= 1000).length}/${samples.length}`,
  );
}

async function main(): Promise<void> {
  const dir = tempDir('pipit-login-bench-');
  const passwords = PasswordFile.parse('');
  for (const user of USERS) await passwords.set(user, `${user}-secret`);
  const passwordPath = join(dir, 'passwords.txt');
  await passwords.save(passwordPath);
  const auth = EXTRA_AUTH.split('\n').map((line) => `  ${line}\n`);
  const config = `auth:\n  passwordFile: ${passwordPath}\n${auth.join('')}${EXTRA_CONFIG}\n`;
  const broker = await LoadBroker.start({ config, dataDir: dir });
  const port = broker.port;
  const during: Promise<{ code: number | undefined; ms: number }>[] = [];
  const after: Promise<{ code: number | undefined; ms: number }>[] = [];
  const answers = new Map<string, number>();
  const bad: Promise<void>[] = [];
  let probes = 0;
  const probe = (into: typeof during): void => {
    const user = GOOD === 'rotate' ? USERS[probes % USERS.length]! : 'alice';
    probes++;
    into.push(login(port, '127.0.0.2', user, `${user}-secret`));
  };
  console.log(
    `flood: ${RATE} bad logins/s from ${SOURCES} addresses for ${FLOOD_S} s, target ${TARGET}; ` +
      `good logins (${GOOD}) every ${PROBE_MS} ms`,
  );
  const floodEnd = performance.now() + FLOOD_S * 1000;
  let sent = 0;
  const started = performance.now();
  let nextProbe = started;
  while (performance.now() < floodEnd) {
    const due = Math.floor(((performance.now() - started) / 1000) * RATE);
    for (; sent < due; sent++) {
      const from = `127.0.0.${10 + (sent % SOURCES)}`;
      const username = TARGET === 'alice' ? 'alice' : `nobody-${sent}`;
      bad.push(
        login(port, from, username, 'wrong').then((r) => {
          const key = r.code === undefined ? 'no answer' : `0x${r.code.toString(16)}`;
          answers.set(key, (answers.get(key) ?? 0) + 1);
        }),
      );
    }
    if (performance.now() >= nextProbe) {
      probe(during);
      nextProbe += PROBE_MS;
    }
    await sleep(5);
  }
  const stoppedAt = performance.now();
  while (performance.now() - stoppedAt < AFTER_S * 1000) {
    probe(after);
    await sleep(PROBE_MS);
  }
  summary('during the flood', await Promise.all(during));
  const afterResults = await Promise.all(after);
  summary('after the flood', afterResults);
  const firstFast = afterResults.findIndex((r) => r.code === 0 && r.ms <= 1000);
  console.log(
    `after the flood stopped, the first good login answered within 1 s started at ` +
      `${firstFast < 0 ? 'never' : `+${((firstFast * PROBE_MS) / 1000).toFixed(2)} s`}`,
  );
  await Promise.all(bad);
  console.log(`bad logins sent: ${sent}; answers: ${JSON.stringify(Object.fromEntries(answers))}`);
  console.log(`broker peak RSS: ${broker.peakRssMiB().toFixed(0)} MiB`);
  await broker.stop();
}

await main();
