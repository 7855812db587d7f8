/** Options for {@linkcode pct}. */
export interface PctOptions {
  /** What an empty `sorted` gives. Default 0. */
  empty?: number;
}

/**
 * The `p` quantile (0..1) of ascending `sorted`: the value at index
 * `floor(length * p)`, capped at the last one (so p50 of 2000 samples is the
 * 1001st, p99 the 1981st), or `options.empty` (default 0) when there are no
 * samples.
 *
 * @example
 * ```ts
 * rtts.sort((a, b) => a - b);
 * const p99 = pct(rtts, 0.99); // 0 when nothing was measured
 * const p50 = pct(rtts, 0.5, { empty: NaN }); // printed as "-" when nothing was measured
 * ```
 */
export function pct(sorted: ArrayLike<number>, p: number, options: PctOptions = {}): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? options.empty ?? 0;
}
