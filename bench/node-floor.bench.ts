/**
 * The floor under any Node broker (issue #17): what a Node process that only relays bytes
 * costs per message, with no MQTT at all. A relay process (pinned to core 0) takes 70-byte
 * "messages" from 8 publisher sockets and writes them to 1 subscriber socket, batched once
 * per event-loop turn with setImmediate as Pipit's SocketSink does; this process (core 1)
 * sends them at a fixed total rate on a 1 ms tick, as `pipit bench --rate` does. Each rate
 * runs twice: the relay reading through 'data' events (as Pipit does), then through
 * `onread` with one reused buffer (what Node's stream read path costs). The relay's
 * on-CPU time (/proc/<pid>/task/<tid>/schedstat, every thread) per message is printed next
 * to message-cost.bench.ts's figures for Pipit and Mosquitto. Figures are printed, never
 * asserted.
 *
 *   node --import tsx bench/node-floor.bench.ts [rate ...]   (default: 1000 10000)
 *
 * The same floor against the C load generator, evenly spaced as issue #17 measures (mqtt-load's
 * fan-in, the `latency-fanin-c` scenarios), beside Pipit and Mosquitto in the same rounds:
 * bench/brokers/node-relay.mjs, a relay that speaks just enough MQTT for mqtt-load, run as the
 * comparison's `node-relay`:
 *
 *   npm run bench -- --only node-relay,pipit,mosquitto,latency-fanin-c --rounds 5 --duration 5 --warmup 1 --no-write
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { freePort, which } from './harness/brokers.js';

const PUBLISHERS = 8;
const MESSAGE = Buffer.alloc(70, 1);
const SECONDS = 5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The relay: connects to the generator's port 1 + PUBLISHERS times; the first socket is the
 * subscriber's, the others the publishers'. With `onread`, bytes land in one reused buffer
 * (copied out, as Pipit's decoder copies fields) instead of a new chunk per read through
 * the Readable stream: Node offers `onread` only to sockets it opens, hence this direction.
 */
async function relay(port: number, onread: boolean): Promise<void> {
  let pending: Buffer[] = [];
  let scheduled = false;
  const sockets: net.Socket[] = [];
  const flush = (): void => {
    scheduled = false;
    if (pending.length > 0) {
      sockets[0]!.write(pending.length === 1 ? pending[0]! : Buffer.concat(pending));
    }
    pending = [];
  };
  const take = (chunk: Buffer): void => {
    pending.push(chunk);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  const readBuffer = Buffer.allocUnsafe(64 * 1024);
  for (let i = 0; i <= PUBLISHERS; i++) {
    const socket = onread
      ? net.connect({
          port,
          host: '127.0.0.1',
          onread: {
            buffer: readBuffer,
            callback: (n: number, buf: Uint8Array) => {
              take(Buffer.from(buf.subarray(0, n)));
              return true;
            },
          },
        })
      : net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    if (!onread) socket.on('data', take);
    sockets.push(socket);
    await new Promise((resolve) => socket.once('connect', resolve));
    await sleep(20);
  }
}

/** On-CPU nanoseconds of every thread of `pid` so far. */
function onCpuNs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  }
  return ns;
}

/** Accepts the relay's sockets in the order it opens them (subscriber first). */
async function acceptRelay(server: net.Server): Promise<net.Socket[]> {
  const accepted: net.Socket[] = [];
  return new Promise((resolve) => {
    server.on('connection', (socket) => {
      socket.setNoDelay(true);
      accepted.push(socket);
      if (accepted.length === PUBLISHERS + 1) resolve(accepted);
    });
  });
}

async function measure(
  rate: number,
  onread: boolean,
): Promise<{ nsPerMsg: number; received: number }> {
  const port = await freePort();
  const server = net.createServer();
  const accepting = acceptRelay(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const taskset = which('taskset');
  const self = fileURLToPath(import.meta.url);
  const args = ['--import', 'tsx', self, 'relay', String(port), onread ? 'onread' : 'data'];
  const child = taskset
    ? spawn(taskset, ['-c', '0', process.execPath, ...args], { stdio: 'inherit' })
    : spawn(process.execPath, args, { stdio: 'inherit' });
  // The relay opens its sockets one at a time, each after the previous one connected, so
  // the first accepted is the subscriber's.
  const [sub, ...pubs] = await accepting;
  let receivedBytes = 0;
  sub!.on('data', (c: Buffer) => {
    receivedBytes += c.length;
  });
  await sleep(300);
  const perPublisherPerMs = rate / PUBLISHERS / 1000;
  const credited = new Array<number>(PUBLISHERS).fill(0);
  const start = performance.now();
  let cpu0 = 0;
  let cpu1 = 0;
  await new Promise<void>((done) => {
    const tick = (): void => {
      const elapsed = performance.now() - start;
      if (cpu0 === 0 && elapsed >= 1000) cpu0 = onCpuNs(child.pid!);
      if (elapsed >= 1000 + SECONDS * 1000) {
        cpu1 = onCpuNs(child.pid!);
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
  for (const s of [sub!, ...pubs]) s.destroy();
  child.kill();
  server.close();
  return {
    nsPerMsg: (cpu1 - cpu0) / (rate * SECONDS),
    received: Math.round(receivedBytes / MESSAGE.length),
  };
}

if (process.argv[2] === 'relay') {
  await relay(Number(process.argv[3]), process.argv[4] === 'onread');
} else {
  const taskset = which('taskset');
  if (taskset) execFileSync(taskset, ['-a', '-cp', '1', String(process.pid)], { stdio: 'ignore' });
  const rates = process.argv.slice(2).map(Number);
  for (const rate of rates.length ? rates : [1000, 10_000]) {
    for (const onread of [false, true]) {
      const { nsPerMsg, received } = await measure(rate, onread);
      console.log(
        `node relay (${onread ? 'onread, one reused buffer' : "'data' events"}), ${PUBLISHERS}→1 at ${rate} msg/s: ` +
          `${(nsPerMsg / 1000).toFixed(1)} µs on-CPU per message (${received} relayed)`,
      );
    }
  }
}
