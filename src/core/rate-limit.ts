/**
 * The per-connection publish rate limit: a token bucket on the broker's Clock (never
 * Date.now, so core tests drive it with a fake clock). `maxPublishRate` tokens come back per
 * second, and the bucket holds one second's worth (at least one token): a client may burst
 * that many publishes after a quiet second, and no more than the rate on average.
 *
 * Over the rate:
 * - QoS 0 is dropped and counted (`dropped['rate-limited']`), for every protocol version;
 * - MQTT 5 QoS 1/2 gets PUBACK/PUBREC 0x97 Quota exceeded (counted). Not 0x96 Message rate
 *   too high: the spec allows 0x96 in DISCONNECT only, and a strict client treats a PUBACK
 *   that carries it as a protocol error. The connection stays up;
 * - MQTT 3.x QoS 1/2 cannot be refused (a 3.x acknowledgement has no failure code, and a
 *   close would make the client resend after reconnecting), so it is delayed: the
 *   connection stops reading until the token is due (counted as `publish-throttled`); TCP
 *   pushes back on the client.
 */
import type { ProtocolVersion, PublishPacket } from '../protocol/index.js';
import type { ClientInfo } from './client-info.js';
import type { CoreServices } from './core-services.js';

/** The connection a PUBLISH came on, as the rate limit sees it. */
export interface RateLimited {
  readonly core: Pick<CoreServices, 'options' | 'clock' | 'refusals'>;
  readonly client: ClientInfo;
  readonly version: ProtocolVersion | undefined;
}

/** A token bucket refilled continuously from the clock. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly capacity: number;

  constructor(
    private readonly ratePerSecond: number,
    now: number,
  ) {
    this.capacity = Math.max(1, ratePerSecond);
    this.tokens = this.capacity;
    this.last = now;
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.capacity, this.tokens + (elapsed * this.ratePerSecond) / 1000);
  }

  /** Takes a token if one is there. */
  tryTake(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Takes a token now, borrowing from the future; returns the ms until the debt is paid. */
  borrow(now: number): number {
    this.refill(now);
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.ratePerSecond);
  }
}

/** What the rate limit says about one PUBLISH. */
export type RateVerdict =
  | { kind: 'pass' }
  | { kind: 'drop' }
  | { kind: 'refuse' }
  | { kind: 'delay'; ms: number };

const PASS: RateVerdict = { kind: 'pass' };
const DROP: RateVerdict = { kind: 'drop' };
const REFUSE: RateVerdict = { kind: 'refuse' };

/** Buckets by connection (kept off the Connection so the limit stays in this file). */
const buckets = new WeakMap<RateLimited, TokenBucket>();

/** Applies `maxPublishRate` to a PUBLISH from `conn` (see the file comment for the policy). */
export function checkPublishRate(conn: RateLimited, packet: PublishPacket): RateVerdict {
  const core = conn.core;
  const rate = core.options.maxPublishRate;
  if (rate <= 0) return PASS;
  const now = core.clock.now();
  let bucket = buckets.get(conn);
  if (bucket === undefined) {
    bucket = new TokenBucket(rate, now);
    buckets.set(conn, bucket);
  }
  if (packet.qos > 0 && conn.version !== 5) {
    const ms = bucket.borrow(now);
    if (ms === 0) return PASS;
    note(conn, 'publish-throttled', rate);
    return { kind: 'delay', ms };
  }
  if (bucket.tryTake(now)) return PASS;
  note(conn, 'publish-rate', rate);
  return packet.qos === 0 ? DROP : REFUSE;
}

function note(conn: RateLimited, kind: 'publish-rate' | 'publish-throttled', rate: number): void {
  conn.core.refusals.note(
    kind,
    { clientId: conn.client.clientId, maxPublishRate: rate },
    kind === 'publish-rate'
      ? 'publish refused: maxPublishRate exceeded (QoS 0 dropped, MQTT 5 QoS 1/2 0x97)'
      : 'publish delayed: maxPublishRate exceeded',
  );
}

/** Waits `ms` on the broker's clock (the connection is paused meanwhile). */
export function delay(conn: RateLimited, ms: number): Promise<void> {
  return new Promise((resolve) => conn.core.clock.setTimeout(resolve, ms));
}
