/**
 * The outbox's Redis commands as RESP frames it builds itself, written to the connection as
 * they are. An XADD whose last argument is a forwarded batch is framed in the batch's own
 * buffer (batch-builder.ts leaves room in front of it): ioredis would copy the batch into a
 * frame of its own, and its pipeline would copy that frame once more into one write.
 */
import { Command } from 'ioredis';

/** CRLF, the end of every RESP element. */
const CRLF = '\r\n';
/** The most bytes of a bulk string's length line: `$`, ten digits, CRLF. */
export const BULK_HEAD_MAX = 1 + 10 + 2;

/**
 * The start of the frame of the command `elements... last` (the command's name first): every
 * element but the last, whose length line and bytes the caller writes after it.
 */
export function commandHead(elements: readonly string[]): Buffer {
  let head = `*${elements.length + 1}${CRLF}`;
  for (const e of elements) head += `$${Buffer.byteLength(e)}${CRLF}${e}${CRLF}`;
  return Buffer.from(head);
}

/**
 * Writes the frame's head and the last element's length line in front of `buffer[start,
 * end)` and its CRLF after it (`end + 2` must fit): returns the whole frame, in `buffer`.
 */
export function frameInPlace(head: Buffer, buffer: Buffer, start: number, end: number): Buffer {
  const lengthLine = `$${end - start}${CRLF}`;
  const lineStart = start - lengthLine.length;
  const frameStart = lineStart - head.length;
  if (frameStart < 0) throw new RangeError('no room for the frame before the batch');
  buffer.write(lengthLine, lineStart, 'latin1');
  head.copy(buffer, frameStart);
  buffer.write(CRLF, end, 'latin1');
  return buffer.subarray(frameStart, end + 2);
}

/** `head` followed by `last` as the frame's last element, in a new buffer. */
export function frameWith(head: Buffer, last: string): Buffer {
  const bytes = Buffer.from(last);
  return Buffer.concat([head, Buffer.from(`$${bytes.length}${CRLF}`), bytes, Buffer.from(CRLF)]);
}

/**
 * A command that writes a frame built beforehand. `name` and `args` are the command as
 * ioredis sees it (a Redis Cluster routes it by its keys), `frame` what goes on the wire
 * (written again as it is when ioredis resends it after a reconnection or a MOVED).
 */
export class FrameCommand extends Command {
  constructor(
    name: string,
    args: readonly string[],
    private readonly frame: Buffer,
  ) {
    // Command flattens `args` into an array of its own: no copy here.
    super(name, args as string[], { replyEncoding: 'utf8' });
  }

  override toWritable(_socket: object): Buffer {
    return this.frame;
  }
}
