/**
 * The hostile-input table: raw bytes a client may send, and the exact answer the spec asks
 * of the broker. Spec statement ids are in the names. Not a test file: protocol.test.ts
 * runs it over real TCP.
 *
 * Before a valid CONNECT the broker knows no version: apart from an unsupported protocol
 * level (CONNACK 0x01 [MQTT-3.1.2-2]) it closes without a CONNACK, which both versions
 * allow for a malformed CONNECT [MQTT-3.1.4-1] [MQTT-4.13.1-1]. After CONNACK a v5 client
 * gets DISCONNECT with the reason code [MQTT-4.13.1-1] and a v3 client a close [MQTT-4.8.0-1].
 *
 * The cases are in cases-before-connect.ts and cases-after-connect.ts; what they share (the
 * case type, the broker's limits, packet builders) in case-kit.ts.
 */
import type { HostileCase } from './case-kit.js';
import { answered, connected4, connected5 } from './cases-after-connect.js';
import { beforeConnect } from './cases-before-connect.js';

export { type Expectation, type HostileCase, TABLE_BROKER } from './case-kit.js';

/** Every case of the table. */
export const HOSTILE_CASES: HostileCase[] = [
  ...beforeConnect,
  ...connected4,
  ...connected5,
  ...answered,
];
