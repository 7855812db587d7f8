/**
 * Reading the searched file as raw bytes, with errors that name the file.
 * {@linkcode FileBytesReader} reuses one growing buffer so that a reread per
 * query allocates nothing once warm.
 */
import { errorText } from "../log/mod.ts";

/** Why the searched file could not be read. */
export type FileProblem = "missing" | "unreadable";

/** The searched file is missing or unreadable. */
export class SearchFileError extends Error {
  override name = "SearchFileError";
  constructor(
    readonly path: string,
    readonly problem: FileProblem,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`Cannot read search file "${path}": ${detail}`, options);
  }

  /** Wraps a `Deno` file-system error. */
  static from(path: string, err: unknown): SearchFileError {
    if (err instanceof SearchFileError) return err;
    if (err instanceof Deno.errors.NotFound) {
      return new SearchFileError(path, "missing", "file not found (check --file or linuxpath=)", {
        cause: err,
      });
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      return new SearchFileError(path, "unreadable", "permission denied", { cause: err });
    }
    if (err instanceof Deno.errors.IsADirectory) {
      return new SearchFileError(path, "unreadable", "it is a directory, not a file", {
        cause: err,
      });
    }
    const msg = errorText(err);
    return new SearchFileError(path, "unreadable", msg, { cause: err });
  }
}

/** What identifies one version of a file on disk. */
export interface FileVersion {
  size: number;
  mtimeMs: number;
  ino: number;
}

/** The version of a `Deno.FileInfo`. */
export function versionOf(info: Deno.FileInfo): FileVersion {
  return { size: info.size, mtimeMs: info.mtime?.getTime() ?? 0, ino: info.ino ?? 0 };
}

/** Whether two versions differ. */
export function versionChanged(a: FileVersion | undefined, b: FileVersion): boolean {
  return !a || a.size !== b.size || a.mtimeMs !== b.mtimeMs || a.ino !== b.ino;
}

/**
 * Opens `path` for reading synchronously, with its file info; a missing
 * file, a directory, anything else that is not a regular file or a
 * permission problem is a `SearchFileError`. The
 * caller closes the file.
 */
export function openSearchFile(path: string): { file: Deno.FsFile; info: Deno.FileInfo } {
  let file: Deno.FsFile;
  try {
    // Before the open: opening a FIFO with no writer blocks the thread for good, and a device
    // such as /dev/zero never ends; either held a worker (and the shutdown) forever.
    notRegular(path, Deno.statSync(path));
    file = Deno.openSync(path);
  } catch (err) {
    throw SearchFileError.from(path, err);
  }
  try {
    const info = file.statSync();
    notRegular(path, info);
    return { file, info };
  } catch (err) {
    file.close();
    throw SearchFileError.from(path, err);
  }
}

/** Throws unless `info` is a regular file's (a symbolic link is followed). */
function notRegular(path: string, info: Deno.FileInfo): void {
  if (info.isDirectory) throw new Deno.errors.IsADirectory(path);
  if (!info.isFile) {
    throw new SearchFileError(
      path,
      "unreadable",
      "it is not a regular file (a FIFO, socket or device): give the path of a file",
    );
  }
}

/** Reads a whole file synchronously into `buf` (grown as needed); returns the filled view. */
function readInto(
  path: string,
  buf: Uint8Array,
  grow: (need: number, keep: number) => Uint8Array,
): { bytes: Uint8Array; version: FileVersion } {
  const { file, info } = openSearchFile(path);
  try {
    if (buf.length < info.size + 1) buf = grow(info.size + 1, 0);
    let used = 0;
    while (true) {
      if (used === buf.length) buf = grow(buf.length * 2, used);
      const n = file.readSync(buf.subarray(used));
      if (n === null) break;
      used += n;
    }
    return { bytes: buf.subarray(0, used), version: versionOf(info) };
  } catch (err) {
    throw SearchFileError.from(path, err);
  } finally {
    file.close();
  }
}

/**
 * Gives a buffer of at least `size` bytes that starts with the first `keep`
 * bytes of the previous one (for example a view into WebAssembly memory).
 */
export type BufferAllocator = (size: number, keep: number) => Uint8Array;

/**
 * Reads a file per call into one reused buffer. The returned bytes are valid
 * until the next call.
 */
export class FileBytesReader {
  #buf: Uint8Array;
  readonly #alloc: BufferAllocator;

  /** `alloc` places the buffer (default: a plain `Uint8Array`, grown by copying). */
  constructor(alloc?: BufferAllocator) {
    this.#alloc = alloc ?? ((size, keep) => {
      const next = new Uint8Array(Math.ceil(size * 1.25));
      if (keep > 0) next.set(this.#buf.subarray(0, keep));
      return next;
    });
    this.#buf = this.#alloc(64 * 1024, 0);
  }

  /** Reads `path`; the view is overwritten by the next call. */
  read(path: string): Uint8Array {
    return readInto(path, this.#buf, (need, keep) => this.#buf = this.#alloc(need, keep)).bytes;
  }
}

/** Reads `path` into a buffer of its own (exactly sized, transferable) with its version. */
export function readFileBytes(path: string): { bytes: Uint8Array; version: FileVersion } {
  let own = new Uint8Array(0);
  const { bytes, version } = readInto(path, own, (need, keep) => {
    const next = new Uint8Array(need);
    next.set(own.subarray(0, keep));
    own = next;
    return next;
  });
  return { bytes: bytes.slice(), version };
}
