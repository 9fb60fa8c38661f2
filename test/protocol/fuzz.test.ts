/**
 * Property tests: fragmentation never changes what is decoded, and random or mutated
 * bytes only ever end in packets or an MqttError, never another exception. Runs are
 * bounded so the suite stays fast.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  Decoder,
  encode,
  isMqttError,
  type Packet,
  type ProtocolVersion,
} from '../../src/protocol/index.js';
import { connectOf, packetOf } from './arbitraries.js';

const version = fc.constantFrom<ProtocolVersion>(3, 4, 5);

/** A CONNECT then other packets, all at one version, encoded back to back. */
const validStream = version.chain((v) =>
  fc
    .tuple(connectOf(v), fc.array(packetOf(v, false), { maxLength: 8 }))
    .map(([c, rest]) => ({ v, packets: [c, ...rest] as Packet[] })),
);

function pushAll(decoder: Decoder, chunks: Buffer[]): Packet[] {
  const out: Packet[] = [];
  for (const c of chunks) decoder.push(c, (p) => out.push(p));
  return out;
}

function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(prev, p));
    prev = p;
  }
  chunks.push(bytes.subarray(prev));
  return chunks;
}

/** Pushes `chunks`; true when decoding failed with an MqttError. Anything else is rethrown. */
function decodesOrRejects(decoder: Decoder, chunks: Buffer[]): boolean {
  try {
    pushAll(decoder, chunks);
    return false;
  } catch (err) {
    if (!isMqttError(err)) throw err;
    return true;
  }
}

describe('decoder properties', () => {
  it('any split of a valid stream decodes to the same packets', () => {
    fc.assert(
      fc.property(validStream, fc.array(fc.nat(), { maxLength: 12 }), ({ v, packets }, cuts) => {
        const bytes = Buffer.concat(packets.map((p) => encode(p, v)));
        const whole = pushAll(new Decoder(), [bytes]);
        assert.deepEqual(whole, packets);
        const decoder = new Decoder();
        assert.deepEqual(pushAll(decoder, split(bytes, cuts)), packets);
        assert.equal(decoder.bufferedBytes, 0);
      }),
      { numRuns: 100 },
    );
  });

  it('random bytes produce packets or an MqttError, never another exception', () => {
    const known = fc.option(version, { nil: undefined });
    fc.assert(
      fc.property(
        known,
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        (v, data, cuts) => {
          decodesOrRejects(new Decoder({ protocolVersion: v }), split(Buffer.from(data), cuts));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('random bytes after a valid CONNECT produce packets or an MqttError', () => {
    fc.assert(
      fc.property(
        version.chain((v) => connectOf(v).map((c) => [v, c] as const)),
        fc.uint8Array({ maxLength: 200 }),
        ([v, c], data) => {
          decodesOrRejects(new Decoder(), [encode(c, v), Buffer.from(data)]);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('mutated valid streams produce packets or an MqttError', () => {
    const mutation = fc.record({
      at: fc.nat(),
      kind: fc.constantFrom('flip', 'set', 'insert', 'delete'),
      value: fc.integer({ min: 0, max: 255 }),
    });
    fc.assert(
      fc.property(
        validStream,
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        ({ v, packets }, mutations, cuts) => {
          const bytes = [...Buffer.concat(packets.map((p) => encode(p, v)))];
          for (const m of mutations) {
            const i = m.at % (bytes.length + 1);
            if (m.kind === 'flip') bytes[i % bytes.length] ^= 1 << (m.value & 7);
            else if (m.kind === 'set') bytes[i % bytes.length] = m.value;
            else if (m.kind === 'insert') bytes.splice(i, 0, m.value);
            else bytes.splice(i % bytes.length, 1);
          }
          decodesOrRejects(new Decoder(), split(Buffer.from(bytes), cuts));
        },
      ),
      { numRuns: 600 },
    );
  });

  it('what the decoder accepts, the encoder writes back byte for byte (canonical forms)', () => {
    fc.assert(
      fc.property(validStream, ({ v, packets }) => {
        for (const p of packets) {
          const bytes = encode(p, v);
          const [decoded] = pushAll(
            new Decoder(p.type === 'connect' ? {} : { protocolVersion: v }),
            [bytes],
          );
          assert.deepEqual(encode(decoded, v), bytes);
        }
      }),
      { numRuns: 150 },
    );
  });
});
