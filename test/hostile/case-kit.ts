/**
 * What the hostile-input tables share: the shape of a case and of the answer it expects, the
 * limits of the broker the table runs against, and builders of raw packet bytes. Not a test
 * file: cases.ts assembles the table, protocol.test.ts runs it.
 */
import type { ProtocolVersion } from '../../src/protocol/index.js';
import { pkt, str } from '../helpers/raw-client.js';

/** What the broker must do. */
export type Expectation =
  /** Close without sending anything (after the CONNACK of `connectFirst`). */
  | { kind: 'close' }
  /** CONNACK with this code, then close. */
  | { kind: 'connack'; code: number }
  /** v5 DISCONNECT with this code, then close. */
  | { kind: 'disconnect'; code: number }
  /** An answer packet (PUBACK, SUBACK, ...) with these codes; the connection stays open. */
  | { kind: 'answer'; type: 'puback' | 'pubrec' | 'suback'; codes: number[] };

/** One hostile input. */
export interface HostileCase {
  name: string;
  version: ProtocolVersion;
  /** Send a valid CONNECT (and wait for CONNACK 0x00) before `bytes`. */
  connectFirst?: boolean;
  bytes: Buffer;
  expect: Expectation;
}

/** The limits of the broker the table runs against. */
export const TABLE_BROKER = {
  maxTopicLength: 256,
  maxTopicLevels: 16,
  maximumPacketSize: 64 * 1024,
  receiveMaximum: 5,
  topicAliasMaximum: 10,
  connectTimeoutMs: 3000,
} as const;

/** The protocol name and a client id, as MQTT strings (hex). */
export const MQTT = str('MQTT');
export const C = str('c');
export const close: Expectation = { kind: 'close' };
export const disconnect = (code: number): Expectation => ({ kind: 'disconnect', code });
/** A v3.1.1 CONNECT with this flags byte and payload hex. */
export const connect4 = (flags: string, payload: string) =>
  pkt(0x10, `${MQTT} 04 ${flags} 0000 ${payload}`);
/** A v5 CONNECT with this flags byte, properties (length included) and payload hex. */
export const connect5 = (flags: string, props: string, payload: string) =>
  pkt(0x10, `${MQTT} 05 ${flags} 0000 ${props} ${payload}`);
/** A v5 PUBLISH QoS 0 to `topic` with these properties (length included). */
export const publish5 = (topic: string, props: string, first = 0x30) =>
  pkt(first, `${str(topic)} ${props} 61`);
/** A topic longer than maxTopicLength, and one with a level more than maxTopicLevels. */
export const longTopic = `t/${'x'.repeat(TABLE_BROKER.maxTopicLength)}`;
export const deepTopic = Array.from({ length: TABLE_BROKER.maxTopicLevels + 1 }, () => 'l').join(
  '/',
);
