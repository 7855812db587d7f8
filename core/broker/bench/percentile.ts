/** The `p` quantile (0..1) of ascending `sorted`, or 0 when it is empty. */
export function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}
