/** The malformed-input corpus format and its runner, shared by the malformed-*.test.ts files. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DecoderOptions, ProtocolVersion } from '../../src/protocol/index.js';
import { decodeError } from './helpers.js';

/** One malformed input: raw bytes, the decoder state, and the exact expected rejection. */
export interface Case {
  name: string;
  bytes: Buffer;
  /** Decoder version; 'server' means a fresh decoder that has seen nothing yet. */
  version: ProtocolVersion | 'server';
  code: number;
  specId?: string;
  options?: DecoderOptions;
}

/** Registers one test per case, named with its spec id, asserting reason code and spec id. */
export function runCorpus(title: string, cases: Case[]): void {
  describe(title, () => {
    for (const c of cases) {
      const name = c.specId ? `[${c.specId}] ${c.name}` : c.name;
      it(`${name} -> 0x${c.code.toString(16)}`, () => {
        const options: DecoderOptions = { ...c.options };
        if (c.version !== 'server') options.protocolVersion = c.version;
        const err = decodeError(c.bytes, options);
        assert.equal(err.reasonCode, c.code, err.message);
        assert.equal(err.specId, c.specId, err.message);
      });
    }
  });
}
