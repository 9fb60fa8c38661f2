/** Shared helpers for the protocol tests (not a test file itself). */
import assert from 'node:assert/strict';
import {
  Decoder,
  type DecoderOptions,
  isMqttError,
  type MqttError,
  type Packet,
} from '../../src/protocol/index.js';

/** Bytes from spaced hex, e.g. `hex('10 0d 00 04')`. */
export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/** Hex of an MQTT UTF-8 string field (2-byte length then bytes). */
export function str(s: string): string {
  const b = Buffer.from(s, 'utf8');
  return b.length.toString(16).padStart(4, '0') + b.toString('hex');
}

/** A packet from its first byte and body hex, the remaining length computed. */
export function pkt(first: number, body: string): Buffer {
  const b = hex(body);
  const len: number[] = [];
  let n = b.length;
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) d |= 0x80;
    len.push(d);
  } while (n > 0);
  return Buffer.concat([Buffer.from([first, ...len]), b]);
}

/** Every packet decoded from `bytes` in one push. */
export function decodeAll(bytes: Buffer, options?: DecoderOptions): Packet[] {
  const out: Packet[] = [];
  new Decoder(options).push(bytes, (p) => out.push(p));
  return out;
}

/** Pushes `bytes`, asserts an MqttError is thrown, and returns it. */
export function decodeError(bytes: Buffer, options?: DecoderOptions): MqttError {
  const decoder = new Decoder(options);
  try {
    decoder.push(bytes, () => {});
  } catch (err) {
    assert.ok(isMqttError(err), `expected an MqttError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the decoder to throw');
}

/** A minimal valid CONNECT at `level` (client id 'c'), to put a server decoder at a version. */
export function connectHex(level: 3 | 4 | 5): Buffer {
  if (level === 3) return pkt(0x10, `${str('MQIsdp')} 03 02 003c ${str('c')}`);
  return pkt(
    0x10,
    `${str('MQTT')} ${level === 4 ? '04' : '05'} 02 003c ${level === 5 ? '00' : ''} ${str('c')}`,
  );
}
