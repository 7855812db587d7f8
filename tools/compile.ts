/**
 * `deno task compile`: builds the single binary `dist/sockkit` with
 * `deno compile`, with the launcher's permissions, the project's deno.json
 * and every Web Worker module (`core/**\/*_worker.ts`) included.
 *
 * `deno compile` needs Deno's `denort` runtime, which it downloads from
 * dl.deno.land or takes from the file named by `DENORT_BIN`. When neither is
 * available this fails fast with one line saying so.
 *
 * @module
 */
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("../", import.meta.url));

/** The one-line error when no denort runtime can be had. */
export const NO_DENORT_MESSAGE =
  `deno compile needs Deno's denort runtime: set DENORT_BIN to a denort ${Deno.version.deno} binary (the full deno binary does not work), or allow downloads from dl.deno.land`;

/** A failure of the build that is reported as one line. */
export class CompileError extends Error {
  override name = "CompileError";
}

/** Lists the Web Worker modules (`*_worker.ts` under `core/`), sorted, relative to `root`. */
export async function findWorkerModules(root: string = ROOT): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw err;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory) await walk(path);
      else if (e.isFile && e.name.endsWith("_worker.ts")) found.push(relative(root, path));
    }
  };
  await walk(join(root, "core"));
  return found.sort();
}

/** Reads the `--allow-*` flags the launcher passes to `deno run`, so the binary gets the same. */
export async function launcherPermissions(root: string = ROOT): Promise<string[]> {
  const text = await Deno.readTextFile(join(root, "sockkit"));
  const flags = [...new Set(text.match(/--allow-[a-z]+/g) ?? [])];
  if (flags.length === 0) {
    throw new CompileError(`Cannot find the --allow-* flags in "${join(root, "sockkit")}"`);
  }
  return flags;
}

/** The URL `deno compile` downloads denort from for this Deno and platform. */
export function denortUrl(): string {
  return `https://dl.deno.land/release/v${Deno.version.deno}/denort-${Deno.build.target}.zip`;
}

async function denoDir(): Promise<string | undefined> {
  const env = Deno.env.get("DENO_DIR");
  if (env) return env;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
    env: { NO_COLOR: "1" },
  }).output();
  if (!out.success) return undefined;
  return (JSON.parse(new TextDecoder().decode(out.stdout)) as { denoDir?: string }).denoDir;
}

/**
 * Checks that `deno compile` can get denort: `DENORT_BIN` names an existing
 * file, or a downloaded copy is in Deno's cache, or dl.deno.land answers
 * within `timeoutMs`. Throws {@linkcode CompileError} otherwise.
 */
export async function checkDenort(timeoutMs = 3000): Promise<string> {
  const bin = Deno.env.get("DENORT_BIN");
  if (bin) {
    const info = await Deno.stat(bin).catch(() => undefined);
    if (!info?.isFile) {
      throw new CompileError(
        `DENORT_BIN "${bin}" is not a file: set it to a denort ${Deno.version.deno} binary`,
      );
    }
    return `DENORT_BIN ${bin}`;
  }
  const dir = await denoDir();
  if (dir) {
    const cached = join(
      dir,
      "dl",
      "release",
      `v${Deno.version.deno}`,
      `denort-${Deno.build.target}.zip`,
    );
    if (await Deno.stat(cached).then((s) => s.isFile, () => false)) return `cached ${cached}`;
  }
  try {
    const res = await fetch(denortUrl(), {
      method: "HEAD",
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
    if (res.ok) return `download ${denortUrl()}`;
  } catch {
    // unreachable: fall through to the one-line error
  }
  throw new CompileError(NO_DENORT_MESSAGE);
}

/** Options for {@linkcode compile}. */
export interface CompileOptions {
  /** Output file; default `dist/sockkit` under the repository root. */
  output?: string;
  /** Receives progress lines. */
  log?: (line: string) => void;
}

/** Builds the binary; resolves with its path. */
export async function compile(options: CompileOptions = {}): Promise<string> {
  const log = options.log ?? (() => {});
  const output = options.output ?? join(ROOT, "dist", "sockkit");
  const source = await checkDenort();
  log(`denort: ${source}`);
  const workers = await findWorkerModules();
  log(`workers: ${workers.length ? workers.join(", ") : "(none)"}`);
  const args = [
    "compile",
    "--quiet",
    "--no-prompt",
    ...(await launcherPermissions()),
    "--config",
    join(ROOT, "deno.json"),
    ...workers.flatMap((w) => ["--include", join(ROOT, w)]),
    "--output",
    output,
    join(ROOT, "main.ts"),
  ];
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "inherit",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim();
    throw new CompileError(`deno compile failed (exit code ${out.code}): ${err}`);
  }
  // A binary built on the full deno instead of denort starts a REPL: check it runs sockkit.
  const check = await new Deno.Command(output, {
    args: ["--version"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(15_000),
  }).output().catch((e) => ({ success: false, stdout: new Uint8Array(), error: e }));
  const version = new TextDecoder().decode(check.stdout).trim().split("\n")[0] ?? "";
  if (!check.success || !/^\d+\.\d+\.\d+$/.test(version)) {
    await Deno.remove(output).catch(() => {});
    throw new CompileError(
      `"${output}" was built but does not run sockkit (its --version printed "${version}"): set DENORT_BIN to a denort ${Deno.version.deno} binary, not the full deno binary`,
    );
  }
  return output;
}

if (import.meta.main) {
  try {
    const out = await compile({ log: (l) => console.error(`compile: ${l}`) });
    console.log(`built ${relative(Deno.cwd(), out) || out}`);
  } catch (err) {
    console.error(err instanceof CompileError ? err.message : `compile failed: ${err}`);
    Deno.exit(1);
  }
}
