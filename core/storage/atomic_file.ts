/**
 * Small files replaced whole: {@linkcode writeFileAtomic} writes a temporary
 * file beside the target and renames it over the target, so a reader sees
 * the old content or the new, never a part; {@linkcode removeAtomicLeftoversSync}
 * removes the temporary files a process that died mid-write left behind.
 */
import * as fsp from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { errorText } from "../log/mod.ts";

/** Options for {@linkcode writeFileAtomic}. */
export interface AtomicWriteOptions {
  /**
   * The file's mode, applied with `chmod` so neither the umask nor the mode
   * of the file being replaced matters. Default `0o600` (owner only).
   */
  mode?: number;
  /**
   * Whether the new content must survive a power cut once the write
   * resolves: the temporary file is `fdatasync`'d before the rename and the
   * directory `fsync`'d after it (without that, the rename itself can be
   * lost). Default `false`: after a crash the file may hold the old content.
   */
  durable?: boolean;
  /**
   * How the directory is synced after the rename (with `durable`). Default:
   * opened read-only and `fsync`'d. A test passes one that fails, to see what
   * a caller does with a file that was replaced but is not yet durable.
   */
  syncDirectory?: (dir: string) => Promise<void>;
}

/**
 * {@linkcode writeFileAtomic} with `durable` replaced the file, but syncing
 * its directory failed: the new content is in place, and a power cut may
 * still undo it. A caller that must not report a change it cannot keep
 * puts the old content back.
 */
export class NotDurableError extends Error {
  override name = "NotDurableError";
  constructor(
    path: string,
    /** Why syncing the directory failed. */
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(
      `Cannot write "${path}" durably: it was replaced, but syncing its directory failed: ${reason} (a power cut may undo the change)`,
      options,
    );
  }
}

/** Temporary names: `.TARGET.<random UUID>.tmp`, hidden, one per write, so two writers never share one. */
const LEFTOVER_RE = /^\.(.+)\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/;

/**
 * Replaces the file at `path` with `data` (text is written as UTF-8)
 * atomically: through a temporary file in the same directory, renamed over
 * `path`. When anything fails the temporary file is removed, `path` keeps
 * its old content and the error reads `Cannot write "<path>": <reason>`.
 *
 * With `durable`, a failure to sync the directory after the rename is
 * reported too, as a {@linkcode NotDurableError}; `path` then already holds
 * the new content, which a power cut may still undo. Syncing a directory opens it read-only and `fsync`s it,
 * which Deno does on Linux (`atomic_file_test.ts` checks it).
 *
 * @example
 * ```ts
 * await writeFileAtomic("state/subscriptions.json", JSON.stringify(subs), { durable: true });
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const mode = options.mode ?? 0o600;
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${crypto.randomUUID()}.tmp`);
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  try {
    // The mode is set on the open file (fchmod), not by path: in a directory
    // others may write to, the name could be swapped for a link meanwhile.
    const file = await fsp.open(tmp, "wx", mode);
    try {
      await file.chmod(mode);
      await file.writeFile(bytes);
      if (options.durable) await file.datasync();
    } finally {
      await file.close();
    }
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw new Error(`Cannot write "${path}": ${reason(err, dir)}`, { cause: err });
  }
  if (!options.durable) return;
  try {
    await (options.syncDirectory ?? syncDirectory)(dir);
  } catch (err) {
    throw new NotDurableError(path, reason(err, dir), { cause: err });
  }
}

async function syncDirectory(dir: string): Promise<void> {
  using d = await Deno.open(dir, { read: true });
  await d.sync();
}

/** Options for {@linkcode removeAtomicLeftoversSync}. */
export interface LeftoverOptions {
  /**
   * Also remove `TARGET.tmp`, the fixed temporary name that sockkit used
   * before {@linkcode writeFileAtomic} (for the record log's `head`, the
   * broker's `subscriptions.json` and `TYPE.handed`): a crash of such a
   * version left it for ever. Default `false`.
   */
  legacy?: boolean;
}

/** The fixed temporary name earlier versions used: `TARGET.tmp`, not hidden. */
const LEGACY_RE = /^([^.].*)\.tmp$/;

/**
 * Removes from `dir` the temporary files {@linkcode writeFileAtomic} left
 * when a process died between creating one and renaming it, for the target
 * names `of` accepts (other files, and other writers' leftovers, stay).
 * Returns the names removed; none when `dir` does not exist. Call it only
 * where no write to those targets can be in flight: where the directory's
 * owner opens it.
 */
export function removeAtomicLeftoversSync(
  dir: string,
  of: (target: string) => boolean,
  options: LeftoverOptions = {},
): string[] {
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return removed;
    throw new Error(
      `Cannot look for leftover temporary files in "${dir}": ${reason(err, dir)}`,
      { cause: err },
    );
  }
  for (const e of entries) {
    if (!e.isFile) continue;
    const target = LEFTOVER_RE.exec(e.name)?.[1] ??
      (options.legacy ? LEGACY_RE.exec(e.name)?.[1] : undefined);
    if (target === undefined || !of(target)) continue;
    try {
      Deno.removeSync(join(dir, e.name));
      removed.push(e.name);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) continue;
      throw new Error(
        `Cannot remove the leftover temporary file "${join(dir, e.name)}": ${reason(err, dir)}`,
        { cause: err },
      );
    }
  }
  return removed;
}

/** Why a file operation in `dir` failed, with what to do where it is clear. */
function reason(err: unknown, dir: string): string {
  // Deno's error classes, or node:fs's codes (the temporary file is written through node:fs).
  const code = (err as { code?: unknown } | null)?.code;
  if ((err instanceof Deno.errors.NotFound || code === "ENOENT") && !isDirectory(dir)) {
    return `the directory "${dir}" does not exist (create it first)`;
  }
  if (err instanceof Deno.errors.PermissionDenied || code === "EACCES" || code === "EPERM") {
    return `permission denied (check the permissions of "${dir}")`;
  }
  if (code === "ENOSPC") {
    return `No space left on device (free space on the file system of "${dir}")`;
  }
  if (err instanceof Deno.errors.IsADirectory || code === "EISDIR") {
    return "it is a directory (remove it or choose another path)";
  }
  return errorText(err);
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}
