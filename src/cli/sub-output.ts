/**
 * How `pipit sub` prints a message, as mosquitto_sub does: the payload bytes as received
 * (never re-encoded, so binary payloads come out intact), `topic payload` with -v, or the
 * -F format; then a newline unless -N. An empty payload prints nothing without -v, and
 * `topic (null)` with -v, as in mosquitto_sub.
 */
import type { PublishPacket } from '../protocol/packets.js';
import type { Stamp } from './clock-text.js';
import { compileFormat } from './sub-format.js';

/** The output switches. */
export interface OutputOptions {
  verbose: boolean;
  /** -N: no newline after each message. */
  noNewline: boolean;
  /** -F. */
  format?: string;
  /** --pretty: JSON (%j, %J) over several lines. */
  pretty: boolean;
}

const NEWLINE = Buffer.from('\n');

/**
 * A function from a received message to the bytes to write (possibly none).
 * @throws UsageError for a bad -F format (compiled at once, before connecting).
 */
export function messagePrinter(
  o: OutputOptions,
  warn: (text: string) => void,
): (packet: PublishPacket, stamp: Stamp) => Buffer {
  const eol = o.noNewline ? Buffer.alloc(0) : NEWLINE;
  if (o.format !== undefined) {
    const render = compileFormat(o.format);
    return (packet, stamp) => {
      const text = render({ packet, stamp, pretty: o.pretty, warn });
      return text === undefined ? Buffer.alloc(0) : Buffer.concat([text, eol]);
    };
  }
  if (o.verbose) {
    return (packet) =>
      Buffer.concat([
        Buffer.from(`${packet.topic} `),
        packet.payload.length > 0 ? packet.payload : Buffer.from('(null)'),
        eol,
      ]);
  }
  return (packet) =>
    packet.payload.length > 0 ? Buffer.concat([packet.payload, eol]) : Buffer.alloc(0);
}
