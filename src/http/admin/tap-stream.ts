/**
 * One live tap: the server-sent events stream of `GET /api/v1/tap` (docs/dashboard.md). It
 * writes the messages the hub offers it while they stay under its rate cap, counts the others,
 * and reports its counts once a second. A browser that reads slowly is not buffered for: a
 * message offered while the socket still holds more than {@link MAX_BUFFERED_BYTES} unsent is
 * dropped and counted.
 */
import type { ServerResponse } from 'node:http';
import type { ClientInfo, Message } from '../../core/index.js';

/** Unsent bytes of a tap's socket above which offered messages are dropped. */
export const MAX_BUFFERED_BYTES = 256 * 1024;
/** The largest part of a payload a tap event carries (the rest is counted, not sent). */
export const TAP_PAYLOAD_BYTES = 1024;
/** How often a tap reports its counts (and keeps idle proxies from closing it). */
const STATS_EVERY_MS = 1000;

/** What a tap has sent and dropped since it opened. */
export interface TapCounts {
  sent: number;
  /** Dropped because more than the rate cap matched in one second. */
  droppedRate: number;
  /** Dropped because the browser did not read fast enough. */
  droppedSlow: number;
}

/** A message as a tap event's `data` (JSON). */
export interface TapMessage {
  topic: string;
  qos: number;
  retain: boolean;
  payloadBytes: number;
  /** At most the first {@link TAP_PAYLOAD_BYTES} bytes. */
  payloadBase64: string;
  payloadTruncated: boolean;
  /** Null for the host application (`broker.publish`, the admin API, `$SYS`). */
  publisherClientId: string | null;
  /** When the tap saw it (ms since the epoch, on the tap's clock). */
  at: number;
}

/** Formats one server-sent event (data is JSON: one line, no CR/LF inside). */
function event(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

function tapMessage(client: ClientInfo | undefined, message: Message, at: number): TapMessage {
  const payload = message.payload;
  const shown =
    payload.length > TAP_PAYLOAD_BYTES ? payload.subarray(0, TAP_PAYLOAD_BYTES) : payload;
  return {
    topic: message.topic,
    qos: message.qos,
    retain: message.retain,
    payloadBytes: payload.length,
    payloadBase64: shown.toString('base64'),
    payloadTruncated: shown.length < payload.length,
    publisherClientId: client?.clientId ?? null,
    at,
  };
}

/** One open tap (see the file comment). */
export class TapStream {
  readonly counts: TapCounts = { sent: 0, droppedRate: 0, droppedSlow: 0 };
  private windowStart = Number.NEGATIVE_INFINITY;
  private inWindow = 0;
  private reported = '';
  private readonly timer: ReturnType<typeof setInterval>;

  /**
   * Starts the stream: headers, then a `ready` event with the filter and the cap.
   * @param maxRate messages sent per second at most; more are counted as dropped.
   * @param now the clock of the rate window (ms).
   */
  constructor(
    readonly filter: string,
    private readonly res: ServerResponse,
    private readonly maxRate: number,
    private readonly now: () => number,
  ) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // Proxies such as nginx would otherwise hold the events back.
      'x-accel-buffering': 'no',
    });
    res.write(event('ready', { filter, maxRate }));
    this.timer = setInterval(() => this.report(), STATS_EVERY_MS);
    this.timer.unref();
  }

  /** A message matching the filter was published: send it, or count why not. */
  offer(client: ClientInfo | undefined, message: Message): void {
    // Gone, its 'close' not handled yet: nothing to write to.
    if (this.res.destroyed) return;
    const at = this.now();
    if (at - this.windowStart >= 1000) {
      this.windowStart = at;
      this.inWindow = 0;
    }
    if (this.inWindow >= this.maxRate) {
      this.counts.droppedRate++;
      return;
    }
    if (this.res.writableLength > MAX_BUFFERED_BYTES) {
      this.counts.droppedSlow++;
      return;
    }
    this.inWindow++;
    this.counts.sent++;
    this.res.write(event('message', tapMessage(client, message, at)));
  }

  /** Sends the counts when they changed (a comment line otherwise, to keep the stream alive). */
  report(): void {
    if (this.res.destroyed) return;
    const counts = JSON.stringify(this.counts);
    if (counts === this.reported) {
      this.res.write(': idle\n\n');
      return;
    }
    this.reported = counts;
    this.res.write(`event: stats\ndata: ${counts}\n\n`);
  }

  /** Stops reporting (the response has closed, or is being ended). */
  stop(): void {
    clearInterval(this.timer);
  }

  /** Ends the stream from the broker's side. */
  end(): void {
    this.stop();
    this.res.end();
  }
}
