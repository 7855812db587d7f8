/** Options for {@linkcode redisBenchmarkHset}. */
export interface AnchorOptions {
  host: string;
  port: number;
  /** Requests. Default 1,000,000. */
  requests?: number;
  /** Pipeline depth. Default 16. */
  pipeline?: number;
  /** Parallel connections. Default 10 (the bench's client count). */
  clients?: number;
  /** `redis-benchmark` executable. Default from PATH. */
  bin?: string;
  /**
   * A custom command instead of `-t hset` (e.g. a 5-field HSET shaped like
   * the bench's objects; `__rand_int__` makes keys distinct). Default: none.
   */
  command?: string[];
}

/**
 * Runs `redis-benchmark -P 16 -t hset` against a Redis server and returns its
 * HSET requests per second: the ceiling the ingest figure is compared with.
 */
export async function redisBenchmarkHset(options: AnchorOptions): Promise<number> {
  const bin = options.bin ?? "redis-benchmark";
  const args = [
    "-h",
    options.host,
    "-p",
    String(options.port),
    "-P",
    String(options.pipeline ?? 16),
    "-c",
    String(options.clients ?? 10),
    "-n",
    String(options.requests ?? 1_000_000),
    "-q",
    ...(options.command ? ["-r", "100000000", ...options.command] : ["-t", "hset"]),
  ];
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(bin, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (err) {
    throw new Error(
      `Cannot run "${bin}": ${
        err instanceof Deno.errors.NotFound ? "not found on PATH (install redis-tools)" : err
      }`,
      { cause: err },
    );
  }
  const text = new TextDecoder().decode(out.stdout);
  const m = [...text.matchAll(/([\d.]+) requests per second/g)].at(-1);
  if (!out.success || !m) {
    throw new Error(
      `redis-benchmark failed (exit ${out.code}): ${
        (new TextDecoder().decode(out.stderr) || text).trim().slice(-200)
      }`,
    );
  }
  return Number(m[1]);
}
