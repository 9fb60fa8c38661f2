// In-process micro-benchmark of the core's publish path: Connection.receive -> decoder ->
// publish flow -> router -> Session.deliver -> Connection.sendPublish -> sink, without
// sockets, so that a change to the core can be compared before/after on this 2-core machine
// where the socket benchmarks swing 2-5x between runs. Figures are printed, never asserted.
//
// Run: node --import tsx bench/core-fanout.bench.ts [rounds] [scenario-prefix]
//
// Scenarios (64-byte payloads, MQTT 3.1.1, no store, no hooks unless said):
//   fanout-qos0  1 publisher -> 100 subscribers, QoS 0
//   fanout-qos1  1 publisher -> 100 subscribers at QoS 1 (they PUBACK every delivery)
//   pairs-qos1   100 publishers -> 1 subscriber each, QoS 1 (the subscribers PUBACK)
//   shared-qos0  1 publisher -> a $share group of 10 members, QoS 0
//   fanin-qos0/1 8 publishers -> 1 subscriber, one message each per step (issue #17), with
//                and without an allow-all authorizePublish hook
// Only the core's public surface is used (openConnection, receive), so the same file runs
// on any commit of the reshape.
import { BrokerCore } from '../src/core/index.js';
import type { Packet, QoS } from '../src/protocol/index.js';
import { encode } from '../src/protocol/index.js';

const PAYLOAD = Buffer.alloc(64, 0x61);

/** A transport that takes every byte at once and answers nothing by itself. */
class NullSink {
  bufferedBytes = 0;
  bytes = 0;
  write(data: Buffer): void {
    this.bytes += data.length;
  }
  pause(): void {}
  resume(): void {}
  notifyWhenDrained(drained: () => void): void {
    setImmediate(drained);
  }
  end(): void {}
}

interface Peer {
  sink: NullSink;
  receive(chunk: Buffer): void;
  /** Packet ids this peer was sent at QoS 1 and has not acknowledged (sequential). */
  nextAckId: number;
  owed: number;
}

function connect(core: BrokerCore, clientId: string): Peer {
  const sink = new NullSink();
  const conn = core.openConnection(sink, { listener: 'bench', remoteAddress: '127.0.0.1' });
  const peer: Peer = { sink, receive: (c) => conn.receive(c), nextAckId: 1, owed: 0 };
  peer.receive(
    encode(
      {
        type: 'connect',
        protocolName: 'MQTT',
        protocolVersion: 4,
        clean: true,
        keepAlive: 0,
        clientId,
      },
      4,
    ),
  );
  return peer;
}

function subscribe(peer: Peer, filter: string, qos: QoS): void {
  peer.receive(
    encode(
      {
        type: 'subscribe',
        packetId: 1,
        subscriptions: [
          { filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        ],
      },
      4,
    ),
  );
}

/** `count` PUBLISH packets in one chunk (packet ids 1..count at QoS 1). */
function publishChunk(topic: string, qos: QoS, count: number): Buffer {
  const packets: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const packet: Packet = {
      type: 'publish',
      topic,
      payload: PAYLOAD,
      qos,
      retain: false,
      dup: false,
      packetId: qos > 0 ? i + 1 : undefined,
    };
    packets.push(encode(packet, 4));
  }
  return Buffer.concat(packets);
}

/** PUBACKs for ids first..first+count-1 (wrapping after 65535) in one chunk. */
function pubacks(first: number, count: number): Buffer {
  const out = Buffer.allocUnsafe(count * 4);
  let id = first;
  for (let i = 0; i < count; i++) {
    out[i * 4] = 0x40;
    out[i * 4 + 1] = 2;
    out.writeUInt16BE(id, i * 4 + 2);
    id = id === 65535 ? 1 : id + 1;
  }
  return out;
}

/** Acknowledges what `peer` owes (its deliveries took ids in order). */
function ackAll(peer: Peer): void {
  if (peer.owed === 0) return;
  peer.receive(pubacks(peer.nextAckId, peer.owed));
  peer.nextAckId = ((peer.nextAckId - 1 + peer.owed) % 65535) + 1;
  peer.owed = 0;
}

interface Scenario {
  name: string;
  /** Deliveries per step. */
  deliveriesPerStep: number;
  setup(): () => void;
}

const BATCH = 10;

function fanout(qos: QoS, subscribers: number): () => void {
  const core = new BrokerCore({ options: { maxInflight: 65535 } });
  const subs: Peer[] = [];
  for (let i = 0; i < subscribers; i++) {
    const sub = connect(core, `sub-${i}`);
    subscribe(sub, 'bench/fanout', qos);
    subs.push(sub);
  }
  const pub = connect(core, 'pub');
  const chunk = publishChunk('bench/fanout', qos, BATCH);
  return () => {
    pub.receive(chunk);
    if (qos > 0) {
      for (const sub of subs) {
        sub.owed += BATCH;
        ackAll(sub);
      }
    }
  };
}

function pairs(count: number): () => void {
  const core = new BrokerCore({ options: { maxInflight: 65535 } });
  const steps: (() => void)[] = [];
  for (let i = 0; i < count; i++) {
    const sub = connect(core, `pair-sub-${i}`);
    subscribe(sub, `bench/pair/${i}`, 1);
    const pub = connect(core, `pair-pub-${i}`);
    const chunk = publishChunk(`bench/pair/${i}`, 1, BATCH);
    steps.push(() => {
      pub.receive(chunk);
      sub.owed += BATCH;
      ackAll(sub);
    });
  }
  return () => {
    for (const step of steps) step();
  };
}

function shared(members: number): () => void {
  const core = new BrokerCore({});
  for (let i = 0; i < members; i++) {
    subscribe(connect(core, `member-${i}`), '$share/g/bench/shared', 0);
  }
  const pub = connect(core, 'pub');
  const chunk = publishChunk('bench/shared', 0, BATCH);
  return () => pub.receive(chunk);
}

/**
 * Fan-in `publishers`→1 at `qos` (issue #17's shape), optionally with an authorizePublish
 * hook that allows everything (what `pipit broker` installs: the listener policy): the
 * per-message cost of the hook path.
 */
function fanin(publishers: number, qos: QoS, withHook: boolean): () => void {
  const core = new BrokerCore({ options: { maxInflight: 65535 } });
  if (withHook) core.addHook({ name: 'allow-all', authorizePublish: () => 'allow' });
  const sub = connect(core, 'fanin-sub');
  subscribe(sub, 'bench/fanin/#', qos);
  const steps: (() => void)[] = [];
  for (let i = 0; i < publishers; i++) {
    const pub = connect(core, `fanin-pub-${i}`);
    const chunk = publishChunk(`bench/fanin/${i}`, qos, 1);
    steps.push(() => pub.receive(chunk));
  }
  return () => {
    for (const step of steps) step();
    if (qos > 0) {
      sub.owed += publishers;
      ackAll(sub);
    }
  };
}

const SCENARIOS: Scenario[] = [
  { name: 'fanout-qos0 1->100', deliveriesPerStep: BATCH * 100, setup: () => fanout(0, 100) },
  { name: 'fanout-qos1 1->100', deliveriesPerStep: BATCH * 100, setup: () => fanout(1, 100) },
  { name: 'pairs-qos1 100', deliveriesPerStep: BATCH * 100, setup: () => pairs(100) },
  { name: 'shared-qos0 1->g10', deliveriesPerStep: BATCH, setup: () => shared(10) },
  // Issue #17: one message per publisher per step, as at a moderate rate.
  { name: 'fanin-qos0 8->1', deliveriesPerStep: 8, setup: () => fanin(8, 0, false) },
  { name: 'fanin-qos0 8->1 hook', deliveriesPerStep: 8, setup: () => fanin(8, 0, true) },
  { name: 'fanin-qos1 8->1 hook', deliveriesPerStep: 8, setup: () => fanin(8, 1, true) },
];

/**
 * CPU ns per delivery (user + system time of this process, so that other work on a shared
 * machine counts less than in wall time) of `rounds` timed batches after a warm-up.
 */
function measure(scenario: Scenario, rounds: number): { best: number; median: number } {
  const step = scenario.setup();
  const targetDeliveries = 2_000_000;
  const steps = Math.max(1, Math.round(targetDeliveries / scenario.deliveriesPerStep / 4));
  for (let i = 0; i < steps; i++) step();
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.cpuUsage();
    for (let i = 0; i < steps; i++) step();
    const used = process.cpuUsage(start);
    const ns = (used.user + used.system) * 1000;
    samples.push(ns / (steps * scenario.deliveriesPerStep));
  }
  samples.sort((a, b) => a - b);
  return { best: samples[0]!, median: samples[Math.floor(samples.length / 2)]! };
}

const rounds = Number(process.argv[2] ?? 7);
const only = process.argv[3];
for (const scenario of SCENARIOS.filter((s) => only === undefined || s.name.startsWith(only))) {
  const { best, median } = measure(scenario, rounds);
  console.log(
    `${scenario.name.padEnd(22)} best ${best.toFixed(1).padStart(7)} CPU ns/delivery   median ${median
      .toFixed(1)
      .padStart(7)} CPU ns/delivery`,
  );
}
