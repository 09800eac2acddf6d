/**
 * A log-linear latency histogram in microseconds: exact below 128 µs, then 64 buckets per power
 * of two (at most 1.6% error), up to 2^32 µs. Fixed memory, no allocation per sample.
 *
 * @module
 */

const LINEAR = 128;
const SUB_BUCKETS = 64;
const MAX_SHIFT = 25; // 2^32 µs
const BUCKETS = LINEAR + MAX_SHIFT * SUB_BUCKETS;

/** Index of the bucket holding `us` (an integer >= 0). */
function bucketOf(us: number): number {
  if (us < LINEAR) return us;
  if (us >= 0x1_0000_0000) return BUCKETS - 1;
  const bits = 32 - Math.clz32(us);
  const shift = bits - 7; // keep the top 7 bits: 64..127
  return LINEAR + (shift - 1) * SUB_BUCKETS + ((us >>> shift) - SUB_BUCKETS);
}

/** Lower bound and width of bucket `index`, in µs. */
function bucketRange(index: number): [low: number, width: number] {
  if (index < LINEAR) return [index, 1];
  const shift = Math.floor((index - LINEAR) / SUB_BUCKETS) + 1;
  const sub = (index - LINEAR) % SUB_BUCKETS + SUB_BUCKETS;
  return [sub * 2 ** shift, 2 ** shift];
}

/** Latency samples in µs. */
export class Histogram {
  #counts = new Float64Array(BUCKETS);
  /** Samples recorded. */
  count = 0;
  /** Largest sample (µs). */
  max = 0;
  #sum = 0;

  /** Record one sample of `us` microseconds (negative values count as 0). */
  record(us: number): void {
    const v = us > 0 ? Math.floor(us) : 0;
    this.#counts[bucketOf(v)]++;
    this.count++;
    this.#sum += v;
    if (v > this.max) this.max = v;
  }

  /** Mean in µs (0 when empty). */
  get mean(): number {
    return this.count > 0 ? this.#sum / this.count : 0;
  }

  /** The value at quantile `q` (0-1) in µs: the middle of its bucket; 0 when empty. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i];
      if (seen >= rank) {
        const [low, width] = bucketRange(i);
        return Math.min(low + (width - 1) / 2, this.max);
      }
    }
    return this.max;
  }
}

/** Quantiles of a histogram, in µs. */
export interface LatencySummary {
  /** Samples. */
  n: number;
  /** Median. */
  p50Us: number;
  /** 90th percentile. */
  p90Us: number;
  /** 99th percentile. */
  p99Us: number;
  /** 99.9th percentile. */
  p999Us: number;
  /** Largest sample. */
  maxUs: number;
  /** Mean. */
  meanUs: number;
}

/** The usual quantiles of `h`. */
export function latencySummary(h: Histogram): LatencySummary {
  return {
    n: h.count,
    p50Us: h.quantile(0.5),
    p90Us: h.quantile(0.9),
    p99Us: h.quantile(0.99),
    p999Us: h.quantile(0.999),
    maxUs: h.max,
    meanUs: h.mean,
  };
}
