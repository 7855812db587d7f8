/** The query bench's data files: a generated CSV keyed by id, its data spec and the lookup handler. */
import { join } from "node:path";

/** The bench handler: the lookup the Python anchor does too. */
export const BENCH_HANDLER = `// Benchmark handler: looks the query up in the generated table.
export default function handler(query, data) {
  const row = data.rows[query];
  return row === undefined ? "NOT FOUND" : JSON.stringify(row);
}
`;

/** Writes the bench CSV: `id,name,group,value`, ids 1 to `rows`. */
async function writeBenchCsv(path: string, rows: number): Promise<void> {
  const lines = ["id,name,group,value"];
  for (let i = 1; i <= rows; i++) lines.push(`${i},name-${i},g${i % 97},${(i * 31) % 10007}`);
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
}

/** The bench's files in a directory. */
export interface BenchData {
  /** The CSV of `rows` rows keyed by `id`. */
  csv: string;
  /** The data spec naming it. */
  spec: string;
  /** The lookup handler ({@linkcode BENCH_HANDLER}). */
  handler: string;
}

/** Writes the bench's CSV, data spec and handler into `dir`. */
export async function writeBenchData(dir: string, rows: number): Promise<BenchData> {
  const data = {
    csv: join(dir, "rows.csv"),
    spec: join(dir, "spec.json"),
    handler: join(dir, "handler.js"),
  };
  await writeBenchCsv(data.csv, rows);
  await Deno.writeTextFile(
    data.spec,
    JSON.stringify({ files: [{ path: "rows.csv", key: "id" }] }),
  );
  await Deno.writeTextFile(data.handler, BENCH_HANDLER);
  return data;
}
