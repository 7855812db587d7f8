/**
 * One process per state directory: a daemon holds an exclusive `flock` on
 * `DIR/.sockkit.lock` for as long as it uses the directory, so a second one
 * started on the same directory (a manual run beside the service, two
 * units with one `--dir`) stops at once with a clear error instead of
 * writing the same journals. The kernel drops the lock with the process, so
 * a crash never leaves it held.
 */
import { join } from "node:path";
import { flockHolderSync } from "./flock_holder.ts";

/** The lock file's name in the directory. */
export const DIR_LOCK_FILE = ".sockkit.lock";

/** Another process holds the directory (see {@linkcode lockDirectorySync}). */
export class DirectoryInUseError extends Error {
  override name = "DirectoryInUseError";
  constructor(
    readonly dir: string,
    /**
     * The process that holds it: the kernel's holder of the lock where it
     * can be told (`/proc/locks`), else the pid it wrote in the lock file
     * (undefined when neither can be read).
     */
    readonly pid: number | undefined,
    what: string,
    /** Its command line, when it can be read ("" otherwise). */
    readonly command = "",
  ) {
    const who = pid === undefined
      ? "another process is using it"
      : pid === Deno.pid
      ? `this process (pid ${pid}) is using it already`
      : `another process (pid ${pid}${command ? `: ${command}` : ""}) is using it`;
    super(
      `Cannot use the ${what} "${dir}": ${who} (stop that one, or give this one a directory of its own)`,
    );
  }
}

/** A held directory lock; {@linkcode DirectoryLock.release} (or disposal) lets it go. */
export interface DirectoryLock extends Disposable {
  /** Releases the lock. Idempotent. */
  release(): void;
}

/**
 * Takes `dir` (created if needed) for this process, or throws a
 * {@linkcode DirectoryInUseError} naming the process that has it. `what`
 * names the directory in the error ("broker state directory").
 *
 * @example
 * ```ts
 * using lock = lockDirectorySync("state/server", "broker state directory");
 * ```
 */
export function lockDirectorySync(dir: string, what: string): DirectoryLock {
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, DIR_LOCK_FILE);
  const file = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 });
  let held: boolean;
  try {
    held = file.tryLockSync(true);
  } catch (err) {
    file.close();
    throw err;
  }
  if (!held) {
    const holder = flockHolderSync(file);
    let pid = holder?.pid;
    if (pid === undefined) {
      try {
        const n = Number(Deno.readTextFileSync(path).trim());
        pid = Number.isInteger(n) && n > 0 ? n : undefined;
      } catch { /* unreadable: no pid in the message */ }
    }
    file.close();
    throw new DirectoryInUseError(dir, pid, what, holder?.command);
  }
  file.truncateSync(0);
  file.writeSync(new TextEncoder().encode(`${Deno.pid}\n`));
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    try {
      file.close(); // closing the descriptor drops the lock
    } catch { /* closed already */ }
  };
  return { release, [Symbol.dispose]: release };
}
