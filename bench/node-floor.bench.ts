/**
 * The floor under any Node broker (issue #17): what a Node process that only relays bytes
 * costs per message, with no MQTT at all. A relay process (pinned to core 0) takes 70-byte
 * "messages" from 8 publisher sockets and writes them to 1 subscriber socket, batched once
 * per event-loop turn with setImmediate as Pipit's SocketSink does; this process (core 1)
 * sends them at a fixed total rate on a 1 ms tick, as `pipit bench --rate` does. The relay's
 * on-CPU time (/proc/<pid>/task/<tid>/schedstat, every thread) per message is printed next
 * to message-cost.bench.ts's figures for Pipit and Mosquitto. Figures are printed, never
 * asserted.
 *
 *   node --import tsx bench/node-floor.bench.ts [rate ...]   (default: 1000 10000)
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { freePort, which } from './harness/brokers.js';

const PUBLISHERS = 8;
const MESSAGE = Buffer.alloc(70, 1);
const SECONDS = 5;

/** The relay: the first connection subscribes, every later one publishes. */
function serve(port: number): void {
  let subscriber: net.Socket | undefined;
  let pending: Buffer[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (subscriber && pending.length > 0) {
      subscriber.write(pending.length === 1 ? pending[0]! : Buffer.concat(pending));
    }
    pending = [];
  };
  net
    .createServer((socket) => {
      socket.setNoDelay(true);
      if (subscriber === undefined) {
        subscriber = socket;
        return;
      }
      socket.on('data', (chunk: Buffer) => {
        pending.push(chunk);
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    })
    .listen(port, '127.0.0.1', () => process.send?.('ready'));
}

/** On-CPU nanoseconds of every thread of `pid` so far. */
function onCpuNs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  }
  return ns;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(rate: number): Promise<{ nsPerMsg: number; received: number }> {
  const port = await freePort();
  const taskset = which('taskset');
  const self = fileURLToPath(import.meta.url);
  const args = ['--import', 'tsx', self, 'serve', String(port)];
  const relay = taskset
    ? spawn(taskset, ['-c', '0', process.execPath, ...args], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
    : spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise((resolve) => relay.once('message', resolve));
  const sub = net.connect(port, '127.0.0.1');
  let receivedBytes = 0;
  sub.on('data', (c: Buffer) => {
    receivedBytes += c.length;
  });
  await sleep(200);
  const pubs = Array.from({ length: PUBLISHERS }, () => net.connect(port, '127.0.0.1'));
  for (const p of pubs) p.setNoDelay(true);
  await sleep(300);
  const perPublisherPerMs = rate / PUBLISHERS / 1000;
  const credited = new Array<number>(PUBLISHERS).fill(0);
  const start = performance.now();
  let cpu0 = 0;
  let cpu1 = 0;
  await new Promise<void>((done) => {
    const tick = (): void => {
      const elapsed = performance.now() - start;
      if (cpu0 === 0 && elapsed >= 1000) cpu0 = onCpuNs(relay.pid!);
      if (elapsed >= 1000 + SECONDS * 1000) {
        cpu1 = onCpuNs(relay.pid!);
        done();
        return;
      }
      const target = Math.floor(elapsed * perPublisherPerMs);
      for (let i = 0; i < PUBLISHERS; i++) {
        while (credited[i]! < target) {
          pubs[i]!.write(MESSAGE);
          credited[i]!++;
        }
      }
      setTimeout(tick, 1);
    };
    tick();
  });
  await sleep(300);
  for (const s of [sub, ...pubs]) s.destroy();
  relay.kill();
  return {
    nsPerMsg: (cpu1 - cpu0) / (rate * SECONDS),
    received: Math.round(receivedBytes / MESSAGE.length),
  };
}

if (process.argv[2] === 'serve') {
  serve(Number(process.argv[3]));
} else {
  const taskset = which('taskset');
  if (taskset) execFileSync(taskset, ['-a', '-cp', '1', String(process.pid)], { stdio: 'ignore' });
  const rates = process.argv.slice(2).map(Number);
  for (const rate of rates.length ? rates : [1000, 10_000]) {
    const { nsPerMsg, received } = await measure(rate);
    console.log(
      `node relay, ${PUBLISHERS}→1 at ${rate} msg/s: ${(nsPerMsg / 1000).toFixed(1)} µs on-CPU per message (${received} relayed)`,
    );
  }
}
