/**
 * Where `pipit pub` takes its messages from, as mosquitto_pub: exactly one of
 *
 *   -m text   the text            -f file   the file's bytes
 *   -s        all of stdin        -n        an empty (null) message
 *   -l        one message per line of stdin, sent as the lines arrive
 *
 * and `--repeat N` sends a single message N times. Payloads stay bytes throughout: a file
 * or stdin that is not UTF-8 is sent exactly as it is.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from './flag-values.js';

/** The payload flags as commander hands them over. */
export interface PayloadFlags {
  message?: string;
  file?: string;
  stdinFile?: boolean;
  stdinLine?: boolean;
  nullMessage?: boolean;
}

/** The chosen source; `lines` streams, the others give one payload. */
export type PayloadSource =
  | { kind: 'single'; read: () => Promise<Buffer> }
  | { kind: 'lines'; lines: () => AsyncIterable<Buffer> };

/** Bytes of a readable stream until its end. */
async function readAll(input: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/**
 * Splits a byte stream on '\n' (a '\r' before it stays in the line, as in mosquitto_pub).
 * An empty line is an empty message; a last line without '\n' is still a message.
 */
export async function* splitLines(input: NodeJS.ReadableStream): AsyncIterable<Buffer> {
  let rest = Buffer.alloc(0);
  for await (const chunk of input) {
    rest = Buffer.concat([rest, Buffer.from(chunk as Buffer)]);
    let nl = rest.indexOf(0x0a);
    while (nl >= 0) {
      yield rest.subarray(0, nl);
      rest = rest.subarray(nl + 1);
      nl = rest.indexOf(0x0a);
    }
  }
  if (rest.length > 0) yield rest;
}

/**
 * The payload source the flags select.
 * @throws UsageError when none or several are given, or the file cannot be read.
 */
export function payloadSource(f: PayloadFlags, input: NodeJS.ReadableStream): PayloadSource {
  const given = [
    f.message !== undefined && '-m',
    f.file !== undefined && '-f',
    f.stdinFile === true && '-s',
    f.stdinLine === true && '-l',
    f.nullMessage === true && '-n',
  ].filter((x): x is string => x !== false);
  if (given.length === 0) throw new UsageError('no message: give one of -m, -f, -s, -l or -n');
  if (given.length > 1) {
    throw new UsageError(`one kind of message at a time: ${given.join(' and ')} were given`);
  }
  if (f.stdinLine) return { kind: 'lines', lines: () => splitLines(input) };
  if (f.message !== undefined) {
    const bytes = Buffer.from(f.message);
    return { kind: 'single', read: async () => bytes };
  }
  if (f.file !== undefined) {
    const path = f.file;
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new UsageError(`-f: cannot read "${path}" (${(err as NodeJS.ErrnoException).code})`);
    }
    return { kind: 'single', read: async () => bytes };
  }
  if (f.stdinFile) return { kind: 'single', read: () => readAll(input) };
  return { kind: 'single', read: async () => Buffer.alloc(0) };
}
