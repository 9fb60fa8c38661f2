// CPU per message of redis-server and of the reading process, XADD + blocking XREAD against
// PUBLISH + subscriber (README.md). usage: node measure.mjs <rounds> <seconds>
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

const rounds = Number(process.argv[2] ?? 3);
const seconds = Number(process.argv[3] ?? 10);
const here = new URL('.', import.meta.url).pathname;
const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString());

function cpuUs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_US; // utime + stime
}
const port = await new Promise((r) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => r(p));
  });
});
const redis = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
  stdio: 'ignore',
});
await new Promise((r) => setTimeout(r, 300));
const cli = (...a) =>
  execFileSync('redis-cli', ['-p', String(port), ...a])
    .toString()
    .trim();

async function one(mode, rate, size, per) {
  cli('DEL', 'inbox:2');
  cli('XADD', 'inbox:2', '*', 'm', 'init');
  const reader = spawn(
    'node',
    [`${here}reader.mjs`, String(port), mode === 'xadd' ? 'xread' : 'subscribe'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: reader.stdout })[Symbol.asyncIterator]();
  await lines.next();
  await new Promise((r) => setTimeout(r, 300));
  const r0 = cpuUs(redis.pid),
    c0 = cpuUs(reader.pid);
  const sent = Number(
    execFileSync('/tmp/q0-sender', [
      String(port),
      mode,
      String(rate),
      String(size),
      String(seconds),
    ]).toString(),
  );
  const r1 = cpuUs(redis.pid),
    c1 = cpuUs(reader.pid);
  reader.stdin.write('\n');
  const got = Number((await lines.next()).value);
  reader.kill();
  const msgs = sent * per;
  return { redis: (r1 - r0) / msgs, reader: (c1 - c0) / msgs, lost: sent - got };
}

const configs = [
  ['lone 10k cmd/s, 120 B', 10000, 120, 1],
  ['batch 1k cmd/s x 10 msgs, 1200 B', 1000, 1200, 10],
];
const results = {};
for (let round = 0; round < rounds; round++) {
  for (const [name, rate, size, per] of configs) {
    const order = round % 2 === 0 ? ['xadd', 'publish'] : ['publish', 'xadd'];
    for (const mode of order) {
      const r = await one(mode, rate, size, per);
      const key = `${name} | ${mode}`;
      (results[key] ??= []).push(r);
      console.error(key, JSON.stringify(r));
    }
  }
}
redis.kill();
const fmt = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[Math.floor(s.length / 2)].toFixed(1)} [${s[0].toFixed(1)}-${s[s.length - 1].toFixed(1)}]`;
};
console.log('| load | transport | redis-server µs/msg | reader µs/msg | sum | lost |');
console.log('|---|---|--:|--:|--:|--:|');
for (const [key, rs] of Object.entries(results)) {
  const [load, mode] = key.split(' | ');
  console.log(
    `| ${load} | ${mode} | ${fmt(rs.map((r) => r.redis))} | ${fmt(rs.map((r) => r.reader))} | ${fmt(rs.map((r) => r.redis + r.reader))} | ${rs.reduce((a, r) => a + r.lost, 0)} |`,
  );
}
