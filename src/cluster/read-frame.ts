/**
 * The inbox's blocking XREAD as a RESP frame built from a constant head and the one argument
 * that changes (the position read from). The inbox sends one per forwarded batch, and at
 * 10k msg/s a batch holds 1-10 messages: ioredis's own framing (its argument list flattened,
 * each argument converted and measured, the frame concatenated) ran on every one of them.
 */
import { Command } from 'ioredis';

const CRLF = '\r\n';

/** The RESP frame of `XREAD <args> <from>`, but `from` (its element count includes it). */
function readHead(args: readonly string[]): string {
  const elements = ['XREAD', ...args];
  let head = `*${elements.length + 1}${CRLF}`;
  for (const e of elements) head += `$${Buffer.byteLength(e)}${CRLF}${e}${CRLF}`;
  return head;
}

/** Makes the XREAD commands of one stream, each from a given position. */
export class StreamReadFrames {
  /** `COUNT <count> BLOCK <blockMs> STREAMS <key>`: the arguments before the position. */
  private readonly fixedArgs: readonly string[];
  private readonly head: string;

  constructor(key: string, count: number, blockMs: number) {
    this.fixedArgs = ['COUNT', String(count), 'BLOCK', String(blockMs), 'STREAMS', key];
    this.head = readHead(this.fixedArgs);
  }

  /**
   * The read of the entries after `from` (a stream id: ASCII). Its reply comes as Buffers,
   * as `callBuffer` gives them.
   */
  from(from: string): Command {
    return new ReadCommand(
      [...this.fixedArgs, from],
      `${this.head}$${from.length}${CRLF}${from}${CRLF}`,
    );
  }
}

/**
 * A command that writes a frame built beforehand. Its name and `args` are the XREAD's as
 * ioredis sees them (it routes a command by its keys on a Redis Cluster, and recognises a
 * blocking command by its name); `frame` is what goes on the wire (written again as it is
 * when ioredis resends it after a reconnection).
 */
class ReadCommand extends Command {
  constructor(
    args: string[],
    private readonly frame: string,
  ) {
    super('XREAD', args, { replyEncoding: null });
  }

  override toWritable(_socket: object): string {
    return this.frame;
  }
}
