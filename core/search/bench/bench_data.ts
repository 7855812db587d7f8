/**
 * Generated files and query mixes for `search bench` and `search load`:
 * deterministic lines shaped like the replaced server's data files
 * (`3;0;1;28;0;7;5;0;`), half the queries present, half absent.
 */
import { join } from "node:path";

/** A small deterministic PRNG (xorshift32). */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

/** One generated line: 6 to 9 small numbers, each followed by `;`. */
function makeLine(rand: () => number): string {
  const fields = 6 + Math.floor(rand() * 4);
  let s = "";
  for (let f = 0; f < fields; f++) s += `${Math.floor(rand() * (f % 3 === 0 ? 30 : 10))};`;
  return s;
}

/**
 * Writes a file of `lines` generated lines to `path` (`\n` endings) and
 * returns a query mix: `count` queries, alternating present and absent.
 */
export async function writeBenchFile(
  path: string,
  lines: number,
  count = 200,
): Promise<string[]> {
  const rand = prng(0x5eed + lines);
  const all: string[] = new Array(lines);
  for (let i = 0; i < lines; i++) all[i] = makeLine(rand);
  await Deno.writeTextFile(path, all.join("\n") + "\n");
  const pick = prng(0xbeef);
  const absent = prng(0xdead);
  const queries: string[] = [];
  for (let i = 0; i < count; i++) {
    queries.push(
      i % 2 === 0 ? all[Math.floor(pick() * lines)]! : `${makeLine(absent)}x`, // "x": never a line
    );
  }
  return queries;
}

/** A generated file and its query mix (see {@linkcode writeBenchFileIn}). */
export interface BenchFile {
  /** Lines in the file. */
  lines: number;
  /** Where it was written. */
  path: string;
  /** Alternating present and absent queries. */
  queries: string[];
}

/**
 * Writes the file of `lines` generated lines as `dir/lines-<lines>.txt`
 * with a mix of `count` queries ({@linkcode writeBenchFile}), once, for
 * every part of a bench that uses it.
 */
export async function writeBenchFileIn(
  dir: string,
  lines: number,
  count = 200,
): Promise<BenchFile> {
  const path = join(dir, `lines-${lines}.txt`);
  return { lines, path, queries: await writeBenchFile(path, lines, count) };
}
