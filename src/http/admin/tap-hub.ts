/**
 * The live taps of one admin API: `GET /api/v1/tap?filter=...` streams the messages published
 * on this node that match a filter. The hub listens to the broker's `published` event (the
 * embedding API) only while a tap is open, matches each message against each open tap's
 * filter, and caps both the taps open at once and each tap's rate. A tap is not an MQTT
 * client: it has no session, no connection, and counts in no client counter.
 */
import type { ServerResponse } from 'node:http';
import type { ClientInfo, Message } from '../../core/index.js';
import { type Logger, silentLogger } from '../../ports/index.js';
import { topicMatchesFilter } from '../../topic/index.js';
import { ApiProblem } from './problem.js';
import { TapStream } from './tap-stream.js';

/** Taps open at once by default (each costs a filter match per published message). */
export const DEFAULT_MAX_TAPS = 4;
/** Messages per second a tap sends at most by default. */
export const DEFAULT_TAP_RATE = 50;

/** A listener of published messages (a `Broker` is one: its `published` event). */
export type PublishedListener = (client: ClientInfo | undefined, message: Message) => void;

/** Where taps get published messages from (a `Broker` is one). */
export interface PublishedFeed {
  on(event: 'published', listener: PublishedListener): unknown;
  off(event: 'published', listener: PublishedListener): unknown;
}

/** Options of the live tap (`AdminRouteOptions.tap`). */
export interface TapOptions {
  /** Taps open at once (default {@link DEFAULT_MAX_TAPS}); more are answered 503. */
  maxTaps?: number;
  /** Messages per second each tap sends at most (default {@link DEFAULT_TAP_RATE}). */
  maxRate?: number;
  /** The clock of the rate window, in ms (default Date.now). */
  now?: () => number;
}

/** The open taps of one admin API (see the file comment). */
export class TapHub {
  private readonly taps = new Set<TapStream>();
  private readonly maxTaps: number;
  private readonly maxRate: number;
  private readonly now: () => number;
  private readonly listener: PublishedListener = (client, message) => {
    for (const tap of this.taps) {
      if (topicMatchesFilter(message.topic, tap.filter)) tap.offer(client, message);
    }
  };

  constructor(
    private readonly feed: PublishedFeed | undefined,
    options: TapOptions = {},
    private readonly logger: Logger = silentLogger,
  ) {
    this.maxTaps = options.maxTaps ?? DEFAULT_MAX_TAPS;
    this.maxRate = options.maxRate ?? DEFAULT_TAP_RATE;
    this.now = options.now ?? Date.now;
  }

  /** Taps open now. */
  get size(): number {
    return this.taps.size;
  }

  /**
   * Opens a tap on `filter` (already validated) writing to `res`; it closes with `res`.
   * @throws ApiProblem 501 without a feed, 503 when {@link TapOptions.maxTaps} are open.
   */
  open(filter: string, res: ServerResponse): TapStream {
    const feed = this.feed;
    if (feed === undefined) {
      throw new ApiProblem('not-configured', 'this broker gives the admin API no message feed');
    }
    if (this.maxTaps === 0) {
      throw new ApiProblem('busy', 'the live tap is off on this broker (adminApi.tap.maxTaps: 0)');
    }
    if (this.taps.size >= this.maxTaps) {
      throw new ApiProblem(
        'busy',
        `${this.taps.size} taps are open, the most this broker allows; close one and retry`,
        { 'retry-after': '5' },
      );
    }
    const tap = new TapStream(filter, res, this.maxRate, this.now);
    if (this.taps.size === 0) feed.on('published', this.listener);
    this.taps.add(tap);
    // The browser went away (tab closed, fetch aborted) or the listener closed the socket.
    res.once('close', () => this.close(tap));
    return tap;
  }

  private close(tap: TapStream): void {
    tap.stop();
    if (!this.taps.delete(tap)) return;
    this.logger.info({ filter: tap.filter, ...tap.counts }, 'admin API: tap closed');
    if (this.taps.size === 0) this.feed?.off('published', this.listener);
  }
}
