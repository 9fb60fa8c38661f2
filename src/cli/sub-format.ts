/**
 * `sub -F format`: the output format of mosquitto_sub. The format is compiled once into
 * pieces; each message then renders to bytes (payloads stay bytes: `%p` of a binary
 * message writes exactly what was received).
 *
 *   %t topic  %p payload  %x/%X payload in hex  %l payload length  %q QoS  %r retain
 *   %m message id  %j/%J JSON  %I ISO 8601 time  %U Unix time with ns  %%
 *   MQTT 5: %A topic alias  %C content type  %D correlation data  %E message expiry
 *           %F payload format indicator  %P user properties  %R response topic
 *           %S subscription identifier
 *   @X strftime %X  @N nanoseconds  @@ '@'    \n \r \t \v \a \e \0 \\
 *
 * `%` may take flags `-` (align left) and `0` (pad numbers with zeros), a width, and for
 * %C %I %R %t a precision `.n` (at most n characters).
 */
import type { PublishPacket } from '../protocol/packets.js';
import {
  isoSeconds,
  nanosOfSecond,
  STRFTIME_LETTERS,
  type Stamp,
  strftimeConversion,
  unixNanos,
} from './clock-text.js';
import { UsageError } from './flag-values.js';
import { messageJson } from './sub-json.js';

/** What a piece of the format sees of a message. */
export interface FormatContext {
  packet: PublishPacket;
  stamp: Stamp;
  pretty: boolean;
  /** Reports a message the format could not render (%J with a payload that is not JSON). */
  warn: (text: string) => void;
}

/** What a piece returns when the message cannot be rendered at all. */
const SKIP = Symbol('skip');

type Piece = (m: FormatContext) => Buffer | string | undefined | typeof SKIP;

interface Spec {
  left: boolean;
  zero: boolean;
  width: number;
  precision: number | undefined;
}

/** Conversions whose values are numbers (zero padding applies) or text (precision applies). */
const NUMERIC = new Set(['A', 'E', 'F', 'l', 'm', 'S', 'x', 'X']);
const TEXT = new Set(['C', 'I', 'R', 't']);

const ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\',
  '0': '\0',
  a: '\x07',
  e: '\x1b',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

function pad(value: string, conversion: string, s: Spec): string {
  let text = value;
  if (s.precision !== undefined && TEXT.has(conversion)) text = text.slice(0, s.precision);
  if (text.length >= s.width) return text;
  if (s.left) return text.padEnd(s.width, ' ');
  return text.padStart(s.width, s.zero && NUMERIC.has(conversion) ? '0' : ' ');
}

/** The raw value of conversion `c`, before padding; undefined for an absent property. */
function value(c: string, m: FormatContext): Buffer | string | undefined {
  const p = m.packet;
  const props = p.properties;
  switch (c) {
    case 't':
      return p.topic;
    case 'p':
      return p.payload;
    case 'x':
      return p.payload.toString('hex');
    case 'X':
      return p.payload.toString('hex').toUpperCase();
    case 'l':
      return String(p.payload.length);
    case 'q':
      return String(p.qos);
    case 'r':
      return p.retain ? '1' : '0';
    case 'm':
      return String(p.packetId ?? 0);
    case 'I':
      return isoSeconds(m.stamp);
    case 'U':
      return unixNanos(m.stamp);
    case 'A':
      return props?.topicAlias?.toString();
    case 'C':
      return props?.contentType;
    case 'D':
      return props?.correlationData;
    case 'E':
      return props?.messageExpiryInterval?.toString();
    case 'F':
      return props?.payloadFormatIndicator?.toString();
    case 'P':
      return props?.userProperties?.map(([k, v]) => `${k}:${v}`).join(' ');
    case 'R':
      return props?.responseTopic;
    case 'S':
      return props?.subscriptionIdentifiers?.join(',');
    default:
      return undefined;
  }
}

const CONVERSIONS = 'tpxXlqrmIUACDEFPRSjJ%';

function percentPiece(c: string, s: Spec): Piece {
  if (c === '%') return () => '%';
  if (c === 'j' || c === 'J') {
    return (m) => {
      const json = messageJson(m.packet, m.stamp, c === 'J', m.pretty);
      if (json !== undefined) return json;
      m.warn(`message payload is not valid JSON on topic ${m.packet.topic}`);
      return SKIP;
    };
  }
  return (m) => {
    const v = value(c, m);
    if (v === undefined) return undefined;
    if (Buffer.isBuffer(v)) {
      // Raw bytes (%p, %D): pad by bytes, never re-encode.
      if (v.length >= s.width) return v;
      const fill = Buffer.alloc(s.width - v.length, ' ');
      return s.left ? Buffer.concat([v, fill]) : Buffer.concat([fill, v]);
    }
    return pad(v, c, s);
  };
}

/** Reads `%[-0]*[width][.precision]X` at `format[i]` (just after the '%'). */
function readPercent(format: string, i: number): { piece: Piece; next: number } {
  const spec: Spec = { left: false, zero: false, width: 0, precision: undefined };
  let j = i;
  while (format[j] === '-' || format[j] === '0') {
    if (format[j] === '-') spec.left = true;
    else spec.zero = true;
    j++;
  }
  const width = /^\d+/.exec(format.slice(j))?.[0];
  if (width) {
    spec.width = Number(width);
    j += width.length;
  }
  if (format[j] === '.') {
    const precision = /^\d+/.exec(format.slice(j + 1))?.[0] ?? '';
    spec.precision = Number(precision || 0);
    j += 1 + precision.length;
  }
  const c = format[j];
  if (c === undefined)
    throw new UsageError(`-F: incomplete format specifier at the end of "${format}"`);
  if (!CONVERSIONS.includes(c)) throw new UsageError(`-F: unknown format specifier "%${c}"`);
  return { piece: percentPiece(c, spec), next: j + 1 };
}

function readAt(format: string, i: number): Piece {
  const c = format[i];
  if (c === undefined) throw new UsageError('-F: "@" at the end of the format');
  if (c === '@') return () => '@';
  if (c === 'N') return (m) => nanosOfSecond(m.stamp);
  const convert = strftimeConversion(c);
  if (!convert) {
    throw new UsageError(
      `-F: unknown time specifier "@${c}" (supported: @${STRFTIME_LETTERS} and @N)`,
    );
  }
  return (m) => convert(m.stamp.date);
}

function readEscape(format: string, i: number): Piece {
  const c = format[i];
  const text = c === undefined ? undefined : ESCAPES[c];
  if (text === undefined) {
    throw new UsageError(
      `-F: unknown escape "\\${c ?? ''}" (use \\n \\r \\t \\v \\a \\e \\0 \\\\)`,
    );
  }
  return () => text;
}

/**
 * Compiles a -F format. @throws UsageError naming the first bad sequence.
 * @returns a function rendering one message to bytes, or to undefined when the message
 *   cannot be shown in this format (%J and a payload that is not JSON).
 */
export function compileFormat(format: string): (m: FormatContext) => Buffer | undefined {
  const pieces: Piece[] = [];
  let literal = '';
  const flush = (): void => {
    if (literal === '') return;
    const text = literal;
    pieces.push(() => text);
    literal = '';
  };
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c !== '%' && c !== '@' && c !== '\\') {
      literal += c;
      continue;
    }
    flush();
    if (c === '%') {
      const { piece, next } = readPercent(format, i + 1);
      pieces.push(piece);
      i = next - 1;
    } else {
      pieces.push(c === '@' ? readAt(format, i + 1) : readEscape(format, i + 1));
      i++;
    }
  }
  flush();
  return (m) => {
    const parts: Buffer[] = [];
    for (const piece of pieces) {
      const part = piece(m);
      if (part === SKIP) return undefined;
      if (part !== undefined) parts.push(Buffer.isBuffer(part) ? part : Buffer.from(part));
    }
    return Buffer.concat(parts);
  };
}
