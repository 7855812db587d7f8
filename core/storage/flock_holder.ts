/**
 * Who holds a `flock`: the process, read from `/proc/locks` (Linux), for
 * the errors of the two file locks (a daemon's state directory,
 * `dir_lock.ts`, and a certificates directory's writers, `core/pki`).
 */

/** The process holding a lock. */
export interface FlockHolder {
  pid: number;
  /**
   * Its command line, up to 120 characters ("" when it cannot be read), with
   * the credentials of URLs in it (`redis://user:secret@host`) starred out:
   * it goes into error messages and logs.
   */
  command: string;
}

/**
 * The process holding the `flock` of `file` (an open descriptor of the lock
 * file), or `undefined` where it cannot be told (not Linux, no
 * `/proc/locks`, or the lock is gone).
 */
export function flockHolderSync(file: Deno.FsFile): FlockHolder | undefined {
  try {
    const { dev, ino } = file.statSync();
    if (dev === null || ino === null) return undefined;
    // "1: FLOCK  ADVISORY  WRITE 4242 fd:01:123456 0 EOF": major and minor in hex, then the inode
    const major = ((dev >>> 8) & 0xfff).toString(16).padStart(2, "0");
    const minor = ((dev & 0xff) | ((dev >>> 12) & 0xfff00)).toString(16).padStart(2, "0");
    const id = `${major}:${minor}:${ino}`;
    const m = Deno.readTextFileSync("/proc/locks").split("\n").map((l) => l.trim().split(/\s+/))
      .find((f) => f[1] === "FLOCK" && f[5] === id);
    const pid = Number(m?.[4]);
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    let command = "";
    try {
      command = redactUrlCredentials(
        Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").join(" ").replace(/\s+/g, " "),
      ).trim().slice(0, 120);
    } catch { /* gone, or not ours to read */ }
    return { pid, command };
  } catch {
    return undefined;
  }
}

/** `process 1234 (sockkit certs revoke ...)`, or `process 1234` without its command line. */
export function describeHolder(holder: FlockHolder): string {
  return `process ${holder.pid}${holder.command ? ` (${holder.command})` : ""}`;
}

/** `scheme://user:secret@host` → `scheme://***@host`, for every URL in `text`. */
export function redactUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, "$1***@");
}
