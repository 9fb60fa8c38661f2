/**
 * Names for the codes a server answers with, so that errors read "Bad User Name or
 * Password (0x86)" rather than a bare number. MQTT 5 reason codes use the spec's names;
 * MQTT 3.1/3.1.1 CONNACK return codes (1-5) have their own table, since the same numbers
 * mean other things in MQTT 5.
 */
import type { ProtocolVersion } from '../protocol/packets.js';
import { REASON_CODE_NAMES } from '../protocol/reason-codes.js';

/** MQTT 3.1 / 3.1.1 CONNACK return codes (MQTT 3.1.1 table 3.1), by value. */
const V3_CONNACK_NAMES: Readonly<Record<number, string>> = {
  1: 'unacceptable protocol version',
  2: 'identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

const hex = (code: number): string => `0x${code.toString(16).padStart(2, '0')}`;

/** "Name (0x87)" for an MQTT 5 reason code. */
export function describeReasonCode(code: number): string {
  const name = REASON_CODE_NAMES[code];
  return name === undefined ? `reason code ${hex(code)}` : `${name} (${hex(code)})`;
}

/** The name of a CONNACK failure: a 3.x return code for versions 3 and 4, else a v5 reason. */
export function describeConnackCode(code: number, version: ProtocolVersion): string {
  if (version === 5) return describeReasonCode(code);
  const name = V3_CONNACK_NAMES[code];
  return name === undefined ? `return code ${code}` : `${name} (return code ${code})`;
}

/** `describeReasonCode`, followed by the server's reason string when it sent one. */
export function describeWithReasonString(code: number, reasonString?: string): string {
  return reasonString ? `${describeReasonCode(code)}: ${reasonString}` : describeReasonCode(code);
}
