import { dirname, join, resolve } from "node:path";
import { ConfigError } from "../config/errors.ts";
import { describeHolder, flockHolderSync, writeFileAtomic } from "../storage/mod.ts";
import { delay } from "../async/mod.ts";
import { errorText } from "../log/mod.ts";

/** Explains a file-system error in a few words (`file not found`, `permission denied`). */
export function fsReason(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "file not found";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.IsADirectory) return "it is a directory";
  return errorText(err);
}

/**
 * Reads a text file, or throws `Cannot read <what> "<path>": <reason> (<hint>)`.
 * The hint is only added when the file is missing.
 */
export async function readText(path: string, what: string, hint?: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    const reason = fsReason(err);
    const more = hint && err instanceof Deno.errors.NotFound ? ` (${hint})` : "";
    throw new ConfigError(`Cannot read ${what} "${path}": ${reason}${more}`, { cause: err });
  }
}

/** Whether a path exists (any kind of file). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * Throws when any of `paths` exists and `force` is not set, naming the file
 * and `--force`. Checked before anything is written, so a refusal leaves the
 * directory untouched.
 */
export async function refuseOverwrite(paths: string[], force: boolean | undefined): Promise<void> {
  if (force) return;
  for (const p of paths) {
    if (await exists(p)) {
      throw new ConfigError(
        `Refusing to overwrite "${p}": it already exists (pass --force to replace it)`,
      );
    }
  }
}

/** Mode for private keys: owner read/write only. */
export const KEY_MODE = 0o600;
/** Mode for certificates and lists: world-readable. */
export const PUBLIC_MODE = 0o644;

/**
 * Writes a certificate, key or list: replaced whole and synced with its
 * directory before it resolves, so a power cut cannot undo it (a `certs
 * revoke` that returned stays revoked). It holds its directory's pki lock
 * while its temporary file exists (see {@linkcode withPkiLock}).
 */
export function writePkiFile(path: string, text: string, mode: number): Promise<void> {
  return withPkiLock(dirname(path), () => writePkiFileHeld(path, text, mode));
}

/**
 * {@linkcode writePkiFile} for a caller that already holds its directory's
 * pki lock: one that read the file and writes what it made of it, inside
 * one {@linkcode withPkiLock}, so that two such updates at once (two
 * `revoke`s, a command and a broker) never lose one of them.
 */
export async function writePkiFileHeld(path: string, text: string, mode: number): Promise<void> {
  await writeFileAtomic(await linkedFile(path), text, { mode, durable: true });
}

/**
 * Where a write of `path` lands: the file a symbolic link at `path` names
 * (one level, relative to the link's directory), so the link stays, else
 * `path`. An installed `certs/revoked.json` is such a link, to
 * `revocations/revoked.json` in a directory the service's group may write.
 * Only the link itself is resolved: a link in the linked directory is
 * replaced by the write, never followed.
 */
export async function linkedFile(path: string): Promise<string> {
  let target: string;
  try {
    target = await Deno.readLink(path);
  } catch {
    return path; // not a link (or no file yet)
  }
  return resolve(dirname(path), target);
}

/** The file in a directory whose lock pki holds while it writes there. */
export const PKI_LOCK = ".pki.lock";

/**
 * Runs `fn` holding the pki lock of `dir`: an exclusive `flock` on
 * `DIR/.pki.lock` (created on first use, empty). Every pki write holds it
 * while its temporary file exists and so does a sweep of leftovers, so a
 * sweep never removes the file of a write in flight (another command's, or
 * a broker's `revoke`); an update of a list (revoked, issued, allowed) holds
 * it from its read to its write. Not reentrant: inside `fn`, write with
 * {@linkcode writePkiFileHeld} (a second lock of the same directory would
 * wait for ever, in this process as in another). The kernel drops the lock when its process dies: a
 * crash never leaves it held. Only writers take it, so a directory that is
 * only read (a daemon's, perhaps read-only) is never touched.
 *
 * A writer waits for the lock at most `waitMs` (default
 * {@linkcode PKI_LOCK_WAIT_MS}): a process that holds it longer (a
 * `certs` command stopped with Ctrl-Z, a hung disk) makes the write fail
 * with an error naming that process, instead of wedging the command or the
 * broker's `revoke` behind it.
 */
export async function withPkiLock<T>(
  dir: string,
  fn: () => Promise<T> | T,
  waitMs: number = PKI_LOCK_WAIT_MS,
): Promise<T> {
  const path = join(dir, PKI_LOCK);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { write: true, create: true, mode: 0o644 });
  } catch (err) {
    // made by another user: a lock needs no write access to the file
    const opened = err instanceof Deno.errors.PermissionDenied
      ? await Deno.open(path, { read: true }).catch(() => undefined)
      : undefined;
    if (!opened) throw await lockError(dir, path, err);
    file = opened;
  }
  using lock = file;
  await waitForLock(lock, dir, path, waitMs);
  return await fn();
}

/** How long a pki write waits for its directory's lock (see {@linkcode withPkiLock}). */
export const PKI_LOCK_WAIT_MS = 10_000;

/** Takes the exclusive lock of `file`, polling, or throws after `waitMs` naming its holder. */
async function waitForLock(file: Deno.FsFile, dir: string, path: string, waitMs: number) {
  const deadline = performance.now() + waitMs;
  for (let pause = 5; !file.tryLockSync(true); pause = Math.min(pause * 2, 200)) {
    const left = deadline - performance.now();
    if (left <= 0) {
      const holder = flockHolderSync(file);
      const who = !holder
        ? "another process"
        : holder.pid === Deno.pid
        ? `this process (pid ${holder.pid}, a write inside another)`
        : describeHolder(holder);
      throw new Error(
        `Cannot lock the certificates directory "${dir}": ${who} has held "${path}" for more than ${
          waitMs / 1000
        } s ` +
          `(a certs command or a broker writing there; let it finish or stop it, then run this again)`,
      );
    }
    await delay(Math.min(pause, left));
  }
}

/** Why the lock file of `dir` cannot be made, from the error of its creation. */
async function lockError(dir: string, path: string, err: unknown): Promise<Error> {
  const what = `Cannot lock the certificates directory "${dir}"`;
  let reason: string;
  if (err instanceof Deno.errors.PermissionDenied) {
    reason = `it is not writable by this user (cannot create "${path}": permission denied): ` +
      `run the command as the directory's owner, or give it write access`;
  } else if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
    const kind = await Deno.stat(dir).then((s) => s.isDirectory ? "dir" : "file", () => "none");
    reason = kind === "file"
      ? `it is a file, not a directory: pass the certificates directory (--dir)`
      : `it does not exist: create it with "sockkit certs init --dir ${dir}", or check --dir and SOCKKIT_CERTS`;
  } else if (err instanceof Error && /read-only file system/i.test(err.message)) {
    reason = `it is on a read-only file system (cannot create "${path}"): ` +
      `run the command where the directory is writable`;
  } else {
    reason = `cannot create "${path}": ${
      fsReason(err)
    } (check that "${dir}" exists and is writable)`;
  }
  return new Error(`${what}: ${reason}`, { cause: err });
}
