/**
 * mqtt-load (bench/tools/mqtt-load), the comparison's C load generator, in connect mode:
 * compiled as the harness compiles it, run against a real Pipit (in process) and a real
 * Mosquitto, and against a raw TCP peer for what brokers do not readily do (keep-alive pings
 * on the wire, a malformed answer, a close before CONNACK). Counts are asserted, never time.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrokerProcess } from '../../bench/harness/brokers.js';
import {
  C_GENERATOR,
  C_LOAD_SOURCES,
  NODE_GENERATOR,
  prepareCLoad,
} from '../../bench/harness/c-load.js';
import { runCConnect } from '../../bench/harness/c-load-connect.js';
import { type ComparisonScenario, MATRIX } from '../../bench/harness/matrix.js';
import { runSample } from '../../bench/harness/runner.js';
import type { BenchOptions } from '../../src/bench/index.js';
import { repoRoot, startAedes, startMosquitto } from '../client/brokers.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { cLoadBinary } from './c-load-binary.js';

let binary: string;

before(() => {
  binary = cLoadBinary();
});

/** Runs connect mode: `count` connections, hooks checking the broker meanwhile. */
function connect(port: number, o: Partial<BenchOptions> = {}, inFlight = 20) {
  return runCConnect(binary, inFlight, {
    scenario: 'conn',
    host: '127.0.0.1',
    port,
    count: 200,
    durationMs: 0,
    ...o,
  });
}

/** Runs mqtt-load with `args` and stdin closed; resolves with its exit code and output. */
function exec(args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(binary, args, (err, stdout, stderr) => {
      const code = err ? Number((err as { code?: number }).code ?? 1) : 0;
      resolve({ code, stdout, stderr });
    });
    // It may exit (bad arguments) before reading its stdin.
    child.stdin?.on('error', () => {});
    child.stdin?.end();
  });
}

describe('mqtt-load connect against Pipit', { timeout: 60_000 }, () => {
  let pipit: TestBroker;
  let closed: TestBroker;
  before(async () => {
    pipit = await startBroker();
    closed = await startBroker({ allowAnonymous: false });
  });
  after(async () => {
    await pipit.close();
    await closed.close();
  });

  const openClients = async (broker: TestBroker) =>
    (await broker.broker.admin.clients({ clientIdPrefix: 'mlc-', limit: 1000 })).items.length;

  for (const protocolVersion of [4, 5] as const) {
    it(`MQTT ${protocolVersion === 4 ? '3.1.1' : '5.0'}: every connection made and held open until the end, 0 errors`, async () => {
      let half = -1;
      let openAtHalf = -1;
      let openAtMeasure = -1;
      const run = await connect(pipit.port, {
        count: 300,
        protocolVersion,
        onHalfConnected: async (established) => {
          half = established;
          openAtHalf = await openClients(pipit);
        },
        onMeasureStart: async () => {
          openAtMeasure = await openClients(pipit);
        },
      });
      const c = run.connected;
      assert.equal(c.requested, 300);
      assert.equal(c.established, 300);
      assert.equal(c.failed + c.refused + c.timeouts + run.dropped, 0, c.firstError);
      assert.equal(c.inFlight, 20);
      assert.equal(half, 150, 'paused after the first half');
      assert.equal(openAtHalf, 150, 'the broker held the first half during the pause');
      assert.equal(openAtMeasure, 300, 'the broker held them all when measuring started');
      assert.equal(c.latency.count, 300);
      assert.equal(c.connackLatency.count, 300);
      assert.ok(c.latency.p99 >= c.latency.p50 && c.latency.max >= c.latency.p99);
      assert.ok(c.elapsedS > 0 && c.connectsPerSec > 0);
      assert.ok(c.cpu.userMs + c.cpu.systemMs >= 0 && c.cpu.percent >= 0);
      // The result the comparison's tables read, as the Node engine gives it.
      const r = run.result;
      assert.equal(r.connections?.established, 300);
      assert.equal(r.errors, 0);
      assert.equal(r.latency.count, 300);
      assert.equal(r.protocolVersion, protocolVersion);
    });
  }

  it('the keep-alive goes out in the CONNECT as asked', async () => {
    const child = execFile(binary, [
      ...['connect', '--port', String(pipit.port), '--count', '5', '--keepalive', '30'],
    ]);
    const lines: string[] = [];
    child.stdout?.on('data', (b: Buffer) => lines.push(...b.toString().split('\n')));
    await waitFor(() => lines.some((l) => l.includes('"event":"connected"')));
    const page = await pipit.broker.admin.clients({ clientIdPrefix: 'mlc-', limit: 1000 });
    assert.equal(page.items.length, 5);
    for (const client of page.items) assert.equal(client.keepAlive, 30);
    const exited = new Promise((resolve) => child.once('close', resolve));
    child.stdin?.end();
    assert.equal(await exited, 0);
  });

  for (const [protocolVersion, code] of [
    [4, '0x05'],
    [5, '0x87'],
  ] as const) {
    it(`MQTT ${protocolVersion === 4 ? '3.1.1' : '5.0'}: a refusing CONNACK (${code}) is counted per connection and named`, async () => {
      const run = await connect(closed.port, { count: 30, protocolVersion });
      assert.equal(run.connected.established, 0);
      assert.equal(run.connected.refused, 30);
      assert.equal(run.connected.failed, 30);
      assert.match(run.connected.firstError, new RegExp(`CONNACK refused with code ${code}`));
      assert.equal(run.result.errors, 30);
    });
  }
});

describe('mqtt-load connect against Mosquitto', { timeout: 60_000 }, () => {
  let mosquitto: BrokerProcess;
  before(async () => {
    mosquitto = await startMosquitto();
  });
  after(() => mosquitto.stop());

  for (const protocolVersion of [4, 5] as const) {
    it(`MQTT ${protocolVersion === 4 ? '3.1.1' : '5.0'}: every connection made, 0 errors`, async () => {
      let half = -1;
      const run = await connect(mosquitto.port, {
        count: 400,
        protocolVersion,
        onHalfConnected: (n) => {
          half = n;
        },
      });
      assert.equal(half, 200);
      assert.equal(run.connected.established, 400);
      assert.equal(run.result.errors, 0, run.connected.firstError);
      assert.equal(
        run.result.connections?.connectsPerSec,
        Math.round(run.connected.connectsPerSec),
      );
    });
  }
});

describe('mqtt-load connect against Aedes (MQTT 3.1.1)', { timeout: 60_000 }, () => {
  it('every connection made, 0 errors', async () => {
    const aedes = await startAedes();
    try {
      const run = await connect(aedes.port, { count: 200 });
      assert.equal(run.connected.established, 200);
      assert.equal(run.result.errors, 0, run.connected.firstError);
    } finally {
      await aedes.stop();
    }
  });
});

/** Resolves once `check` holds; a safety deadline only. */
async function waitFor(check: () => boolean, deadlineMs = 20_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached before the deadline');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A raw TCP peer that answers each connection's first bytes with `reply` (or closes it);
 * `onData(socketIndex, bytes)` sees what comes after.
 */
async function rawPeer(reply: Buffer | 'close', onData?: (socket: number, b: Buffer) => void) {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    const index = sockets.push(socket) - 1;
    let first = true;
    socket.on('data', (b) => {
      if (first) {
        first = false;
        if (reply === 'close') socket.destroy();
        else socket.write(reply);
        return;
      }
      onData?.(index, b);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const close = () => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(r));
  };
  return { port, close };
}

describe('mqtt-load connect against a raw TCP peer', { timeout: 60_000 }, () => {
  it('with a keep-alive, a PINGREQ goes out on every held connection', async () => {
    const pinged = new Set<number>();
    const peer = await rawPeer(Buffer.from([0x20, 2, 0, 0]), (socket, b) => {
      for (let i = 0; i + 1 < b.length; i += 2)
        if (b[i] === 0xc0 && b[i + 1] === 0) pinged.add(socket);
    });
    const child = execFile(binary, [
      ...['connect', '--port', String(peer.port), '--count', '3', '--keepalive', '1'],
    ]);
    await waitFor(() => pinged.size === 3);
    const exited = new Promise((resolve) => child.once('close', resolve));
    child.stdin?.end();
    assert.equal(await exited, 0);
    await peer.close();
  });

  it('a packet other than CONNACK is an error that names it', async () => {
    const peer = await rawPeer(Buffer.from([0x90, 3, 0, 1, 0]));
    const run = await connect(peer.port, { count: 5 });
    assert.equal(run.connected.failed, 5);
    assert.equal(run.connected.refused, 0);
    assert.match(run.connected.firstError, /unexpected packet instead of CONNACK/);
    await peer.close();
  });

  it('a close before the CONNACK is an error that says so', async () => {
    const peer = await rawPeer('close');
    const run = await connect(peer.port, { count: 5 });
    assert.equal(run.connected.failed, 5);
    assert.match(run.connected.firstError, /closed by the broker/);
    await peer.close();
  });

  it('nothing listening: every attempt fails with the reason, and the run still reports', async () => {
    const peer = await rawPeer('close');
    await peer.close();
    const run = await connect(peer.port, { count: 5 });
    assert.equal(run.connected.established, 0);
    assert.equal(run.connected.failed, 5);
    assert.match(run.connected.firstError, /Connection refused/);
  });
});

describe('mqtt-load command line', () => {
  it('a bad option value: exit 2 and a message naming the option and the range', async () => {
    const r = await exec(['connect', '--port', 'x']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--port needs a number from 1 to 65535, got "x"/);
  });

  it('an unknown option or mode: exit 2, named', async () => {
    assert.match((await exec(['connect', '--nope', '1'])).stderr, /unknown option --nope/);
    const r = await exec(['teleport']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown mode teleport/);
  });
});

describe('the comparison runs its connection scenarios on mqtt-load', () => {
  it('without a C compiler: no binary, and the reason names gcc (the harness falls back to Node)', () => {
    const root = mkdtempSync(join(tmpdir(), 'mqtt-load-'));
    const saved = process.env.PATH;
    try {
      cpSync(join(repoRoot, C_LOAD_SOURCES), join(root, C_LOAD_SOURCES), { recursive: true });
      process.env.PATH = join(root, 'no-such-dir');
      const tool = prepareCLoad(root);
      assert.ok('missing' in tool);
      assert.match(tool.missing, /no C compiler \(gcc\) to build bench\/tools\/mqtt-load/);
    } finally {
      process.env.PATH = saved;
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a conn scenario with a plan runs on mqtt-load, with the broker sampled around it', async () => {
    const sc: ComparisonScenario = {
      id: 'conn-small',
      title: '300 idle connections',
      options: { scenario: 'conn', count: 300, connectConcurrency: 400 },
      kind: 'conn',
      cLoad: { mode: 'connect', inFlight: 20 },
    };
    const settings = { cwd: repoRoot, durationMs: 0, warmupMs: 0, holdMs: 0, pin: false, batch: 1 };
    const c = await runSample(sc, 'mosquitto', 'tcp', 1, { ...settings, cLoadBinary: binary });
    assert.equal(c.error, undefined);
    assert.equal(c.generator, C_GENERATOR);
    assert.equal(c.result?.connections?.established, 300);
    assert.equal(c.result?.errors, 0);
    assert.equal(c.connackLatency?.count, 300);
    assert.ok(c.memPerConnKiB !== undefined && c.brokerCpuUsPerConn !== undefined);
    assert.ok(c.marginalKiBPerConn !== undefined, 'the broker was sampled at the half-way pause');
    // Without the tool (no gcc): the Node engine, named.
    const node = await runSample(sc, 'mosquitto', 'tcp', 1, settings);
    assert.equal(node.generator, NODE_GENERATOR);
    assert.equal(node.result?.connections?.established, 300);
  });

  it('conn-10k and conn-19k: 50 CONNECTs in flight, as issue #17 measures', () => {
    for (const id of ['conn-10k', 'conn-19k']) {
      const sc = MATRIX.find((s) => s.id === id);
      assert.deepEqual(sc?.cLoad, { mode: 'connect', inFlight: 50 });
    }
  });
});
