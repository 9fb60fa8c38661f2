/** Byte-exact fixture format and runner, shared by the fixtures-*.test.ts files. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encode, type Packet, type ProtocolVersion } from '../../src/protocol/index.js';
import { decodeAll, hex } from './helpers.js';

/** Hand-written bytes and the packet they must decode to (and encode from). */
export interface Fixture {
  name: string;
  version: ProtocolVersion;
  bytes: string;
  packet: Packet;
}

/** Buffer of a string, for payloads. */
export const b = (s: string): Buffer => Buffer.from(s);

/** One test per fixture: bytes -> packet, and packet -> the same bytes. */
export function runFixtures(title: string, fixtures: Fixture[]): void {
  describe(title, () => {
    for (const f of fixtures) {
      it(`${f.name}: bytes -> packet -> same bytes`, () => {
        const bytes = hex(f.bytes);
        const options = f.packet.type === 'connect' ? {} : { protocolVersion: f.version };
        assert.deepEqual(decodeAll(bytes, options), [f.packet]);
        assert.equal(encode(f.packet, f.version).toString('hex'), bytes.toString('hex'));
      });
    }
  });
}
