/**
 * The load generator over TLS and WebSocket, against the comparison's real brokers as the
 * harness starts them (Pipit compiled, Mosquitto, Aedes): every message arrives once and in
 * order. Counts and settings are asserted, never timing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import {
  type BrokerName,
  type BrokerProcess,
  ensurePipitBuilt,
  startBroker,
} from '../../bench/harness/brokers.js';
import { type BenchOptions, type BenchResult, runBench } from '../../src/bench/index.js';
import { openStream, type Transport } from '../../src/bench/transport.js';
import { packetLength } from '../../src/bench/ws-frames.js';
import { encode } from '../../src/protocol/index.js';
import { repoRoot } from '../client/brokers.js';

/** Every message sent reached its subscriber, once and in order, with no error. */
function assertExact(r: BenchResult): void {
  assert.equal(r.lost, 0, 'lost');
  assert.equal(r.duplicated, 0, 'duplicated');
  assert.equal(r.outOfOrder, 0, 'out of order');
  assert.equal(r.errors, 0, 'errors');
  assert.ok(r.sent > 0 && r.delivered > 0, 'messages flowed while measuring');
  assert.equal(r.totalDelivered, r.totalSent, 'all delivered after the drain');
}

function runAgainst(b: BrokerProcess, o: Omit<BenchOptions, 'port'>): Promise<BenchResult> {
  return runBench({
    durationMs: 500,
    warmupMs: 100,
    ...o,
    port: b.port,
    transport: b.transport,
    ca: b.ca,
  });
}

async function withBroker<T>(
  name: BrokerName,
  transport: Transport,
  fn: (b: BrokerProcess) => Promise<T>,
): Promise<T> {
  const b = await startBroker(name, { cwd: repoRoot, transport, startTimeoutMs: 20_000 });
  try {
    return await fn(b);
  } finally {
    await b.stop();
  }
}

const CASES: [BrokerName, Transport[]][] = [
  ['pipit', ['tls', 'ws', 'wss']],
  ['mosquitto', ['tls', 'ws', 'wss']],
  ['aedes', ['tls', 'ws', 'wss']],
];

describe('the generator over each transport, brokers started by the harness', {
  timeout: 180_000,
}, () => {
  before(() => ensurePipitBuilt(repoRoot));

  for (const [name, transports] of CASES) {
    for (const transport of transports) {
      test(`${name} over ${transport}: fanin 3→1 at QoS 1 is exact`, async () => {
        await withBroker(name, transport, async (b) => {
          const r = await runAgainst(b, { scenario: 'fanin', count: 3, qos: 1 });
          assertExact(r);
          assert.equal(r.transport, transport);
        });
      });
    }
  }

  test('pipit over wss: pairs at QoS 2 with 4 KiB payloads are exact', async () => {
    await withBroker('pipit', 'wss', async (b) => {
      assertExact(await runAgainst(b, { scenario: 'pairs', count: 3, qos: 2, payloadSize: 4096 }));
    });
  });

  test('mosquitto over tls: the conn scenario opens and closes every connection', async () => {
    await withBroker('mosquitto', 'tls', async (b) => {
      const r = await runAgainst(b, { scenario: 'conn', count: 50, durationMs: 50 });
      assert.equal(r.connections?.established, 50);
      assert.equal(r.connections?.failed, 0);
      assert.equal(r.transport, 'tls');
    });
  });

  test("a certificate the client does not trust fails the run, naming the certificate's problem", async () => {
    await withBroker('pipit', 'tls', async (b) => {
      // No `ca`: the broker's self-signed certificate is not in the system's store.
      await assert.rejects(
        runBench({ scenario: 'pairs', count: 1, port: b.port, transport: 'tls', durationMs: 100 }),
        /self-signed certificate/,
      );
    });
  });
});

describe('batch: many messages per write, against mosquitto', { timeout: 60_000 }, () => {
  let broker: BrokerProcess;
  before(async () => {
    broker = await startBroker('mosquitto', { cwd: repoRoot });
  });
  after(() => broker.stop());

  test('batch 10, fanin 4→1 at QoS 0: every write carries 10 or a multiple, exact', async () => {
    const r = await runAgainst(broker, { scenario: 'fanin', count: 4, qos: 0, batch: 10 });
    assertExact(r);
    assert.equal(r.batch, 10);
    assert.ok(r.minPacketsPerWrite >= 10, `fewest per write ${r.minPacketsPerWrite}`);
    assert.equal(r.minPacketsPerWrite % 10, 0);
    assert.equal(r.totalSent % 10, 0, 'whole batches only');
    assert.ok(r.writes > 0 && r.writes <= r.totalSent / 10, `${r.writes} writes`);
  });

  test('batch 10 with a window of 25 at QoS 2: the ring rounds up to 30 slots, exact', async () => {
    // Writes start at slot 0 of a 30-slot ring in steps of 10, so none straddles its end.
    const r = await runAgainst(broker, {
      scenario: 'pairs',
      count: 2,
      qos: 2,
      window: 25,
      batch: 10,
      payloadSize: 1024,
    });
    assertExact(r);
    assert.ok(r.minPacketsPerWrite >= 10, `fewest per write ${r.minPacketsPerWrite}`);
    assert.ok(r.totalSent > 2 * 30, `the ring wrapped: ${r.totalSent} sent`);
  });

  test('a batch larger than the window is capped at the window, exact', async () => {
    const r = await runAgainst(broker, {
      scenario: 'pairs',
      count: 2,
      qos: 1,
      window: 7,
      batch: 50,
    });
    assertExact(r);
    assert.equal(r.batch, 7);
    assert.ok(r.minPacketsPerWrite >= 7);
  });

  test('the default writes as soon as one message is allowed (batch 1), exact', async () => {
    const r = await runAgainst(broker, { scenario: 'fanin', count: 2, qos: 1 });
    assertExact(r);
    assert.equal(r.batch, 1);
    assert.ok(r.writes > 0 && r.minPacketsPerWrite >= 1);
    assert.equal(r.packetsPerWrite, Math.round((r.totalSent / r.writes) * 100) / 100);
  });
});

test('[MQTT-6.0.0-3] [MQTT-6.0.0-1] the WebSocket client offers "mqtt" and sends binary frames only', async () => {
  const offered: string[][] = [];
  const frames: { binary: boolean; first: number }[] = [];
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  server.on('headers', (_h, req) => {
    offered.push(String(req.headers['sec-websocket-protocol'] ?? '').split(/,\s*/));
  });
  server.on('connection', (socket) => {
    socket.on('message', (data: Buffer, binary) => {
      frames.push({ binary, first: data[0] });
      if (data[0] === 0x10) socket.send(Buffer.from([0x20, 0x02, 0x00, 0x00])); // CONNACK
      if (data[0] === 0xe0) socket.close(); // DISCONNECT
    });
  });
  await once(server, 'listening');
  try {
    const r = await runBench({
      scenario: 'conn',
      count: 2,
      durationMs: 10,
      transport: 'ws',
      wsPath: '/somewhere',
      port: (server.address() as AddressInfo).port,
    });
    assert.equal(r.connections?.established, 2);
    assert.deepEqual(offered, [['mqtt'], ['mqtt']]);
    assert.ok(frames.length >= 4, `${frames.length} frames`);
    assert.ok(
      frames.every((f) => f.binary),
      'binary frames only',
    );
    assert.deepEqual(
      frames.map((f) => f.first).sort(),
      [0x10, 0x10, 0xe0, 0xe0],
      'CONNECT and DISCONNECT',
    );
  } finally {
    server.close();
  }
});

test('[MQTT-6.0.0-1] one write of three packets goes out as three binary frames, one packet each', async () => {
  const frames: { binary: boolean; bytes: Buffer }[] = [];
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  server.on('connection', (socket) => {
    socket.on('message', (data: Buffer, binary) => frames.push({ binary, bytes: data }));
  });
  await once(server, 'listening');
  const publish = encode(
    {
      type: 'publish',
      topic: 't',
      payload: Buffer.alloc(300, 7),
      qos: 0,
      retain: false,
      dup: false,
    },
    4,
  );
  const ping = Buffer.from([0xc0, 0x00]);
  const stream = openStream({
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    transport: 'ws',
    wsPath: '/mqtt',
    rejectUnauthorized: true,
  });
  try {
    // A remaining length of 300 takes two bytes: the split must read the whole varint.
    assert.equal(packetLength(publish, 0), publish.length);
    assert.equal(packetLength(publish.subarray(0, 2), 0), -1, 'varint cut short');
    stream.write(Buffer.concat([ping, publish, ping]));
    const deadline = Date.now() + 10_000;
    while (frames.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(
      frames.map((f) => [f.binary, f.bytes.length]),
      [
        [true, 2],
        [true, publish.length],
        [true, 2],
      ],
    );
    assert.deepEqual(frames[1].bytes, publish);
  } finally {
    stream.destroy();
    server.close();
  }
});

describe('option checks name the option', () => {
  const base = { scenario: 'pairs' as const, count: 1, port: 1, durationMs: 10 };

  test('an unknown transport, a bad batch, and batch with a rate are refused', async () => {
    await assert.rejects(
      runBench({ ...base, transport: 'quic' as Transport }),
      /transport must be one of tcp, tls, ws, wss/,
    );
    await assert.rejects(runBench({ ...base, batch: 0 }), /batch must be an integer >= 1/);
    await assert.rejects(
      runBench({ ...base, batch: 4, rate: 100 }),
      /batch applies to flat-out runs/,
    );
    await assert.rejects(
      runBench({ ...base, transport: 'ws', wsPath: 'mqtt' }),
      /wsPath must start with \//,
    );
  });

  test('npm run bench: a bad --transport or --batch exits 1 before starting any broker', () => {
    for (const [args, message] of [
      [
        ['--transport', 'tcp,quic'],
        /--transport must list some of tcp, tls, ws, wss; got "tcp,quic"/,
      ],
      [['--batch', '0'], /--batch must be a number >= 1/],
      [['--batch', '2.5'], /--batch must be an integer from 1 to 256/],
    ] as const) {
      const run = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'bench/run-all.ts', '--no-write', '--no-pin', ...args],
        { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 },
      );
      assert.equal(run.status, 1, run.stderr);
      assert.match(run.stderr, message);
    }
  });
});
