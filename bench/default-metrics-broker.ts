/**
 * What prom-client's default metrics cost the real `pipit broker`: the broker (a child
 * process, memory store) holds `--clients N` MQTT connections (keep alive 0, idle) and its
 * `/metrics` is fetched once a second for `--seconds` (default 60); the broker's CPU time
 * (utime + stime from /proc) over that time is printed per second, with the mean and largest
 * scrape time. `--metrics` is the YAML flow mapping of the `metrics` section.
 *
 *   node --import tsx bench/default-metrics-broker.ts --clients 5000 --metrics '{ handles: true }'
 *
 * Not part of `npm run bench`.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encode } from '../src/protocol/index.js';
import { freePort } from '../test/durability/harness.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '0' },
    seconds: { type: 'string', default: '60' },
    metrics: { type: 'string', default: '{}' },
  },
});

/** CPU time of `pid` so far, in ms (utime + stime, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Opens `n` MQTT 3.1.1 connections (CONNECT sent, CONNACK awaited). */
async function openClients(port: number, n: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < n; i++) {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      encode(
        {
          type: 'connect',
          protocolName: 'MQTT',
          protocolVersion: 4,
          clean: true,
          keepAlive: 0,
          clientId: `idle-${i}`,
        },
        4,
      ),
    );
    await once(socket, 'data');
    sockets.push(socket);
  }
  return sockets;
}

async function main(): Promise<void> {
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  const file = join(tmpdir(), `pipit-metrics-cost-${process.pid}.yaml`);
  writeFileSync(
    file,
    [
      'listeners:',
      `  - port: ${mqttPort}`,
      '  - type: http',
      `    port: ${httpPort}`,
      'limits:',
      '  maxConnectionsPerAddress: 0',
      `metrics: ${values.metrics}`,
      '',
    ].join('\n'),
  );
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'broker', '-c', file, '--memory', '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  child.stdout!.resume();
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status === 200) break;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const sockets = await openClients(mqttPort, Number(values.clients));
  const scrapeMs: number[] = [];
  const scrape = async (): Promise<void> => {
    const started = performance.now();
    await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    scrapeMs.push(performance.now() - started);
  };
  await scrape();
  scrapeMs.length = 0;
  const pid = child.pid!;
  const cpu0 = cpuMs(pid);
  const t0 = performance.now();
  const seconds = Number(values.seconds);
  for (let s = 0; s < seconds; s++) {
    const started = performance.now();
    await scrape();
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, 1000 - (performance.now() - started))),
    );
  }
  const cpu = cpuMs(pid) - cpu0;
  const elapsedS = (performance.now() - t0) / 1000;
  for (const socket of sockets) socket.destroy();
  child.kill('SIGTERM');
  await once(child, 'exit');
  const mean = scrapeMs.reduce((a, b) => a + b, 0) / scrapeMs.length;
  process.stdout.write(
    `${JSON.stringify({
      metrics: values.metrics,
      clients: Number(values.clients),
      brokerCpuMsPerS: Number((cpu / elapsedS).toFixed(1)),
      scrapeMeanMs: Number(mean.toFixed(1)),
      scrapeMaxMs: Number(Math.max(...scrapeMs).toFixed(1)),
    })}\n`,
  );
}

void main();
