/**
 * ZooKeeper's default metrics provider's summaries, for `mntr` and the admin server's `monitor`:
 * count, sum, min, max and average of whole values, and for its "advanced" summaries the 50th,
 * 95th, 99th and 99.9th percentiles of recent values. ZooKeeper samples a uniform reservoir of
 * 4096 values; this keeps the latest 4096 instead, so that the same inputs give the same figures.
 *
 * @module
 */

/** Values kept for percentiles, per summary. */
export const percentileSamplesMax = 4096;

/** One summary's running figures. */
export class Tally {
  private count = 0;
  private sum = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  private readonly samples: number[] | undefined;
  private next = 0;

  constructor(
    private readonly name: string,
    withPercentiles: boolean,
  ) {
    this.samples = withPercentiles ? [] : undefined;
  }

  /** Adds one value, truncated to a whole number as ZooKeeper's long-valued summaries are. */
  add(value: number): void {
    const whole = Math.trunc(value);
    this.count++;
    this.sum += whole;
    if (whole < this.min) this.min = whole;
    if (whole > this.max) this.max = whole;
    const samples = this.samples;
    if (samples === undefined) return;
    if (samples.length < percentileSamplesMax) samples.push(whole);
    else samples[this.next] = whole;
    this.next = (this.next + 1) % percentileSamplesMax;
  }

  /** Forgets everything (srst, stat_reset). */
  reset(): void {
    this.count = 0;
    this.sum = 0;
    this.min = Number.POSITIVE_INFINITY;
    this.max = Number.NEGATIVE_INFINITY;
    if (this.samples !== undefined) this.samples.length = 0;
    this.next = 0;
  }

  /** The figures under ZooKeeper's keys: avg_, min_, max_, cnt_, sum_ (and p50_ ... p999_). */
  values(prefix = ''): [string, number][] {
    const name = `${prefix}${this.name}`;
    const empty = this.count === 0;
    const pairs: [string, number][] = [
      [`avg_${name}`, empty ? 0 : Math.round((this.sum / this.count) * 10_000) / 10_000],
      [`min_${name}`, empty ? 0 : this.min],
      [`max_${name}`, empty ? 0 : this.max],
      [`cnt_${name}`, this.count],
      [`sum_${name}`, this.sum],
    ];
    if (this.samples !== undefined) {
      const sorted = [...this.samples].sort((a, b) => a - b);
      for (const [label, quantile] of percentiles)
        pairs.push([`${label}_${name}`, sorted.length === 0 ? 0 : quantileOf(sorted, quantile)]);
    }
    return pairs;
  }
}

const percentiles: readonly (readonly [string, number])[] = [
  ['p50', 0.5],
  ['p95', 0.95],
  ['p99', 0.99],
  ['p999', 0.999],
];

/** The value at `quantile` of sorted values, as Dropwizard's snapshot computes it (interpolated). */
function quantileOf(sorted: readonly number[], quantile: number): number {
  const position = quantile * (sorted.length + 1);
  if (position < 1) return sorted[0]!;
  if (position >= sorted.length) return sorted[sorted.length - 1]!;
  const lower = sorted[Math.floor(position) - 1]!;
  const upper = sorted[Math.floor(position)]!;
  return Math.round(lower + (position - Math.floor(position)) * (upper - lower));
}
