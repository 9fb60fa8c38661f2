/**
 * Fuzzing a live broker over TCP: valid CONNECT / PUBLISH / SUBSCRIBE streams, mutated
 * (bytes flipped, truncated, spliced with other streams or random bytes) and written in
 * random chunks over several connections at once, plus purely random streams. Seeded and
 * bounded (runs and time). Afterwards: no uncaught exception or unhandled rejection, the
 * broker still serves a new client, every connection is closed, memory stayed bounded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Packet, ProtocolVersion, QoS } from '../../src/protocol/index.js';
import { encode } from '../../src/protocol/index.js';
import type { TestBroker } from '../helpers/broker.js';
import { startBroker, waitFor } from '../helpers/broker.js';
import { connectBytes, RawClient, roundTrip } from '../helpers/raw-client.js';
import { growthMiB, memoryNow } from '../hostile/memory.js';

const SEED = 20_261_130;
const MAX_RUNS = 400;
const TIME_LIMIT_MS = 15_000;

const version = fc.constantFrom<ProtocolVersion>(3, 4, 5);
const topic = fc.constantFrom('a', 'a/b', 'fuzz/x/y', '$SYS/x', 'a/b/c/d/e/f', 'ü/ß');
const filter = fc.constantFrom('a', 'a/+', '#', 'fuzz/#', '$share/g/a', '+/+/+');
const qos = fc.constantFrom<QoS>(0, 1, 2);

/** One valid packet a client may send after CONNECT. */
function clientPacket(v: ProtocolVersion): fc.Arbitrary<Packet> {
  const id = fc.integer({ min: 1, max: 65535 });
  return fc.oneof(
    fc
      .record({
        topic,
        q: qos,
        id,
        payload: fc.uint8Array({ maxLength: 64 }),
        retain: fc.boolean(),
      })
      .map(
        ({ topic: t, q, id: packetId, payload, retain }): Packet => ({
          type: 'publish',
          topic: t,
          qos: q,
          retain,
          dup: false,
          payload: Buffer.from(payload),
          ...(q > 0 ? { packetId } : {}),
          ...(v === 5 ? { properties: {} } : {}),
        }),
      ),
    fc.record({ f: filter, q: qos, id }).map(
      ({ f, q, id: packetId }): Packet => ({
        type: 'subscribe',
        packetId,
        subscriptions: [
          { filter: f, qos: q, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        ],
      }),
    ),
    fc
      .record({ f: filter, id })
      .map(({ f, id: packetId }): Packet => ({ type: 'unsubscribe', packetId, filters: [f] })),
    id.map((packetId): Packet => ({ type: 'pubrel', packetId })),
    id.map((packetId): Packet => ({ type: 'puback', packetId })),
    fc.constant<Packet>({ type: 'pingreq' }),
  );
}

/** A valid stream: CONNECT, then a few packets, all encoded for one version. */
const validStream = version.chain((v) =>
  fc
    .record({
      id: fc.constantFrom('f1', 'f2', 'f3', ''),
      clean: fc.boolean(),
      packets: fc.array(clientPacket(v), { maxLength: 8 }),
    })
    .map(({ id, clean, packets }) =>
      Buffer.concat([
        connectBytes(v, id, { clean: id === '' ? true : clean }),
        ...packets.map((p) => encode(p, v)),
      ]),
    ),
);

/** A mutation of a valid stream. */
const mutated = fc.oneof(
  validStream,
  fc
    .record({
      s: validStream,
      flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 6,
      }),
    })
    .map(({ s, flips }) => {
      const out = Buffer.from(s);
      for (const [at, byte] of flips) out[at % out.length] = byte;
      return out;
    }),
  fc.record({ s: validStream, cut: fc.nat() }).map(({ s, cut }) => s.subarray(0, cut % s.length)),
  fc
    .record({ a: validStream, b: validStream, i: fc.nat(), j: fc.nat() })
    .map(({ a, b, i, j }) =>
      Buffer.concat([a.subarray(0, i % a.length), b.subarray(j % b.length)]),
    ),
  fc
    .record({ s: validStream, junk: fc.uint8Array({ minLength: 1, maxLength: 32 }), i: fc.nat() })
    .map(({ s, junk, i }) =>
      Buffer.concat([s.subarray(0, i % s.length), Buffer.from(junk), s.subarray(i % s.length)]),
    ),
  fc.uint8Array({ minLength: 1, maxLength: 256 }).map((b) => Buffer.from(b)),
);

/** A stream and how it is cut into writes. */
const connectionInput = fc.record({ bytes: mutated, chunk: fc.integer({ min: 1, max: 64 }) });

/** Writes `bytes` in chunks, then waits a little for the broker to answer or close. */
async function play(port: number, bytes: Buffer, chunk: number): Promise<void> {
  const raw = await RawClient.open(port, 5);
  try {
    for (let i = 0; i < bytes.length && raw.isOpen; i += chunk)
      raw.write(bytes.subarray(i, i + chunk));
    await raw.until(() => false, 30).catch(() => undefined);
  } finally {
    raw.destroy();
  }
}

describe('fuzz: mutated packet streams against a live broker', () => {
  let tb: TestBroker;
  const failures: unknown[] = [];
  const onError = (err: unknown): void => {
    failures.push(err);
  };
  before(async () => {
    process.on('uncaughtException', onError);
    process.on('unhandledRejection', onError);
    tb = await startBroker({
      maxTopicLevels: 8,
      maxPublishRate: 500,
      connectTimeoutMs: 2000,
      maximumPacketSize: 16 * 1024,
    });
  });
  after(async () => {
    process.off('uncaughtException', onError);
    process.off('unhandledRejection', onError);
    await tb.close();
  });

  it('survives seeded random and mutated streams over many connections', async () => {
    const baseline = memoryNow();
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(connectionInput, { minLength: 1, maxLength: 4 }),
        async (inputs) => {
          runs++;
          await Promise.all(inputs.map(({ bytes, chunk }) => play(tb.port, bytes, chunk)));
        },
      ),
      {
        seed: SEED,
        numRuns: MAX_RUNS,
        interruptAfterTimeLimit: TIME_LIMIT_MS,
        markInterruptAsFailure: false,
      },
    );
    assert.ok(runs >= 50, `only ${runs} runs`);
    assert.deepEqual(failures, [], 'no uncaught exception or unhandled rejection');
    await waitFor(
      async () => (await tb.broker.admin.counters()).connectionsOpen === 0,
      10_000,
      'every connection closed',
    );
    await waitFor(() => tb.broker.core.admission.open === 0, 10_000, 'every socket released');
    await roundTrip(tb.port, 'after-fuzz');
    const growth = growthMiB(baseline);
    assert.ok(growth.heapUsed < 64, `heapUsed grew ${growth.heapUsed.toFixed(1)} MiB`);
    assert.deepEqual(failures, []);
  });
});
