/**
 * A small log-linear latency histogram (in microseconds) with under 1% relative error:
 * values below 256 us get one bucket each, larger values 128 buckets per power of two.
 * Constant memory whatever the message count, cheap to record.
 */

const LINEAR = 256;
const SUB_BITS = 7;
const SUB = 1 << SUB_BITS;
const MAX_EXP = 31;
const BUCKETS = LINEAR + (MAX_EXP - 8 + 1) * SUB;

function bucketOf(us: number): number {
  const v = us <= 0 ? 0 : us >= 2 ** MAX_EXP ? 2 ** MAX_EXP - 1 : Math.floor(us);
  if (v < LINEAR) return v;
  const exp = 31 - Math.clz32(v);
  const mantissa = v >>> (exp - SUB_BITS);
  return LINEAR + (exp - 8) * SUB + (mantissa - SUB);
}

function lowerBoundOf(bucket: number): number {
  if (bucket < LINEAR) return bucket;
  const exp = Math.floor((bucket - LINEAR) / SUB) + 8;
  const mantissa = ((bucket - LINEAR) % SUB) + SUB;
  return mantissa * 2 ** (exp - SUB_BITS);
}

/** Latency percentiles in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Records latencies in microseconds and answers percentiles. */
export class LatencyHistogram {
  private counts = new Float64Array(BUCKETS);
  private total = 0;
  private sum = 0;
  private maxUs = 0;

  /** Records one latency, in microseconds. */
  record(us: number): void {
    this.counts[bucketOf(us)]++;
    this.total++;
    this.sum += us;
    if (us > this.maxUs) this.maxUs = us;
  }

  /** Number of recorded values. */
  get count(): number {
    return this.total;
  }

  /** Forgets every recorded value (used when the warm-up ends). */
  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.sum = 0;
    this.maxUs = 0;
  }

  /** Adds another histogram's values to this one. */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i] += other.counts[i];
    this.total += other.total;
    this.sum += other.sum;
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs;
  }

  /** The value (us) below which `p` percent of the values fall; the bucket's midpoint. */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) {
        const lo = lowerBoundOf(i);
        const hi = i + 1 < BUCKETS ? lowerBoundOf(i + 1) : lo + 1;
        return Math.min((lo + hi) / 2, this.maxUs);
      }
    }
    return this.maxUs;
  }

  /** p50/p90/p99/max/mean in milliseconds. */
  summary(): LatencySummary {
    const ms = (us: number) => Math.round(us) / 1000;
    return {
      count: this.total,
      p50: ms(this.percentile(50)),
      p90: ms(this.percentile(90)),
      p99: ms(this.percentile(99)),
      max: ms(this.maxUs),
      mean: this.total === 0 ? 0 : ms(this.sum / this.total),
    };
  }
}
