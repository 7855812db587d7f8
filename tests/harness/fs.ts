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

/** A small file system mounted for a test, unmounted when disposed. */
export interface SmallDisk extends AsyncDisposable {
  /** Where it is mounted. */
  readonly path: string;
}

/**
 * Mounts a tmpfs of `bytes` at a new directory `name` in `parent`, so a test
 * can fill the disk (ENOSPC); `undefined` when mounting is not permitted here
 * (the test then skips, saying so). `await using` it so it is unmounted
 * whatever the outcome.
 *
 * @example
 * ```ts
 * await using disk = await smallDisk(dir.path, "small", 64 * 1024);
 * if (!disk) return await smallDiskSkipped(t);
 * ```
 */
export async function smallDisk(
  parent: string,
  name: string,
  bytes: number,
): Promise<SmallDisk | undefined> {
  const path = `${parent}/${name}`;
  await Deno.mkdir(path);
  const mounted = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", path],
    stderr: "null",
  }).output();
  if (!mounted.success) {
    await Deno.remove(path);
    return undefined;
  }
  return {
    path,
    [Symbol.asyncDispose]: async () => {
      await new Deno.Command("umount", { args: [path] }).output();
    },
  };
}

/** Shows, as an ignored step of `t`, that {@linkcode smallDisk} could not mount here. */
export async function smallDiskSkipped(t: Deno.TestContext): Promise<void> {
  await t.step({
    name: "skipped: mounting a small tmpfs is not permitted here",
    fn: () => {},
    ignore: true,
  });
}
