/** One row of the bench table. */
export interface BenchRow {
  figure: string;
  value: number;
  unit: string;
  anchor: string;
  anchorValue: number | null;
  target: string;
}
