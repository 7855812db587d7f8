/** A temporary directory that removes itself (and all inside) when disposed. */
export interface TempDir extends AsyncDisposable {
  readonly path: string;
  /** The path, so `join(String(tmp), "x")` reads as the folder. */
  toString(): string;
}

/**
 * Makes a fresh temporary directory named after `prefix`; `await using` it so
 * it is removed when the test ends, whatever the outcome.
 */
export async function tempDir(prefix = "sockkit-test-"): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    toString: () => path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}
