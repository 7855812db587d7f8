import { createHash, type Hash } from "node:crypto";
import { basename, dirname, join, normalize, relative } from "node:path";
import type { FileMeta } from "./frame.ts";
import type { FileResult } from "./api.ts";

/** Bytes per file chunk frame. */
export const FILE_CHUNK_BYTES = 1024 * 1024;

/** One chunk to send: metadata plus bytes. */
export interface FileChunk {
  meta: FileMeta;
  bytes: Uint8Array;
}

async function listFiles(root: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  const entries = [];
  for await (const e of Deno.readDir(join(root, rel))) entries.push(e);
  entries.sort((a, b) => a.name < b.name ? -1 : 1);
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await listFiles(root, r));
    else if (e.isFile) out.push(r);
  }
  return out;
}

/**
 * Reads a file or a directory (recursively) as chunk frames: each file in
 * chunks of {@linkcode FILE_CHUNK_BYTES}, its SHA-256 on its last chunk, and
 * `end` on the last frame of the transfer.
 */
export async function* fileChunks(
  path: string,
  transfer: string,
  storeAs?: string,
): AsyncGenerator<FileChunk> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (err) {
    throw new Error(`Cannot send "${path}": ${(err as Error).message}`, { cause: err });
  }
  const name = storeAs ?? basename(normalize(path));
  const isDir = info.isDirectory;
  const files = isDir ? await listFiles(path) : [""];
  if (files.length === 0) {
    yield {
      meta: { transfer, name, dir: true, offset: 0, size: 0, end: true },
      bytes: new Uint8Array(0),
    };
    return;
  }
  for (let f = 0; f < files.length; f++) {
    const rel = files[f]!;
    const full = isDir ? join(path, rel) : path;
    using file = await Deno.open(full, { read: true });
    const size = (await file.stat()).size;
    const hash = createHash("sha256");
    let offset = 0;
    do {
      const want = Math.min(FILE_CHUNK_BYTES, size - offset);
      const buf = new Uint8Array(want);
      let got = 0;
      while (got < want) {
        const n = await file.read(buf.subarray(got));
        if (n === null) throw new Error(`Cannot send "${full}": file shrank while reading`);
        got += n;
      }
      hash.update(buf);
      const last = offset + want >= size;
      const meta: FileMeta = { transfer, name, offset, size };
      if (isDir) {
        meta.dir = true;
        meta.path = rel;
      }
      if (last) meta.sha256 = hash.digest("hex");
      if (last && f === files.length - 1) meta.end = true;
      yield { meta, bytes: buf };
      offset += want;
    } while (offset < size);
  }
}

/** What a receiver does when a file or directory of the same name is already there. */
export const ON_EXISTS = ["rename", "overwrite", "refuse"] as const;
/** One of {@linkcode ON_EXISTS}. */
export type OnExists = typeof ON_EXISTS[number];

/**
 * Default {@linkcode FileReceiverOptions.maxTransferBytes}: 8 GiB, about
 * aioconnectors' `max_size_file_upload_recv` default.
 */
export const DEFAULT_MAX_TRANSFER_BYTES = 8 * 1024 ** 3;

/** Refused transfers remembered per peer (so their later chunks are ignored, not refused again). */
export const MAX_REMEMBERED_REFUSALS = 64;

/** Options for {@linkcode FileReceiver}. */
export interface FileReceiverOptions {
  /**
   * A name that is taken: `rename` stores it as `NAME.1`, `NAME.2`...;
   * `overwrite` replaces it; `refuse` fails the transfer (the sender is told).
   * Default `rename`.
   */
  onExists?: OnExists;
  /**
   * Most bytes one transfer (a file, or a directory's files together) may
   * bring; a file announced larger, or a transfer that brings more, is
   * refused and its partial files removed. Default {@linkcode DEFAULT_MAX_TRANSFER_BYTES}.
   */
  maxTransferBytes?: number;
  /** Transfers one peer may have in progress at once. Default 4. */
  maxPerPeer?: number;
  /** A transfer with no chunk for this long is abandoned, ms. Default 60000. */
  stallMs?: number;
  /** Told when a stalled transfer was abandoned (to answer its sender). */
  onAbandon?: (t: { from: string; type: string; transfer: string; error: string }) => void;
}

interface Incoming {
  from: string;
  type: string;
  timer: ReturnType<typeof setTimeout> | undefined;
  staging: string;
  target: string;
  file: Deno.FsFile | undefined;
  hash: Hash | undefined;
  bytes: number;
  files: number;
  error?: string;
}

/** A transfer from `from` of `type` that has received nothing yet; `error` marks a refused one. */
function incoming<F extends { staging?: string; target?: string; error?: string }>(
  from: string,
  type: string,
  fields: F,
): Incoming & Pick<F, "error"> {
  return {
    from,
    type,
    timer: undefined,
    staging: fields.staging ?? "",
    target: fields.target ?? "",
    file: undefined,
    hash: undefined,
    bytes: 0,
    files: 0,
    ...(fields.error !== undefined ? { error: fields.error } : {}),
  };
}

/**
 * Receives chunked files and directories into the directory mapped to their
 * message type: chunks are written under a hidden staging name in that
 * directory, each file's SHA-256 is checked, and the finished file or
 * directory is renamed into place (atomically), as `NAME`; when that name
 * is taken, as `options.onExists` says.
 */
export class FileReceiver {
  readonly #dirs: Record<string, string>;
  readonly #opts: FileReceiverOptions;
  readonly #maxPerPeer: number;
  readonly #stallMs: number;
  readonly #maxBytes: number;
  /** Transfers by `PEER TRANSFER` (a transfer id is the sender's, so it is scoped to the sender). */
  readonly #incoming = new Map<string, Incoming>();

  constructor(fileDirs: Record<string, string>, opts: FileReceiverOptions = {}) {
    this.#dirs = fileDirs;
    this.#opts = opts;
    this.#maxPerPeer = opts.maxPerPeer ?? 4;
    this.#stallMs = opts.stallMs ?? 60_000;
    this.#maxBytes = opts.maxTransferBytes ?? DEFAULT_MAX_TRANSFER_BYTES;
  }

  #arm(key: string, t: Incoming, transfer: string): void {
    if (t.timer !== undefined) clearTimeout(t.timer);
    t.timer = setTimeout(() => {
      if (this.#incoming.get(key) !== t) return;
      const notify = t.error === undefined;
      this.#drop(key, t);
      if (notify) {
        this.#opts.onAbandon?.({
          from: t.from,
          type: t.type,
          transfer,
          error: `transfer stalled: no chunk for ${this.#stallMs} ms; the partial file was removed`,
        });
      }
    }, this.#stallMs);
    Deno.unrefTimer?.(t.timer as unknown as number);
  }

  #drop(key: string, t: Incoming): void {
    if (t.timer !== undefined) clearTimeout(t.timer);
    t.file?.close();
    t.file = undefined;
    if (t.staging) {
      try {
        Deno.removeSync(t.staging, { recursive: true });
      } catch { /* already gone */ }
    }
    this.#incoming.delete(key);
  }

  /** Transfers in progress from `peer`. */
  activeFrom(peer: string): number {
    let n = 0;
    for (const t of this.#incoming.values()) if (t.from === peer && t.error === undefined) n++;
    return n;
  }

  #refusedFrom(peer: string): number {
    let n = 0;
    for (const t of this.#incoming.values()) if (t.from === peer && t.error !== undefined) n++;
    return n;
  }

  /**
   * Refuses transfer `key` with `r.error`. When more chunks are to come,
   * keeps `r` until the transfer ends or stalls, so those chunks are ignored
   * instead of refused again; at most {@linkcode MAX_REMEMBERED_REFUSALS}
   * per peer (past that, each chunk is refused again).
   */
  #refuse(
    key: string,
    meta: FileMeta,
    r: Incoming & { error: string },
  ): { ok: false; error: string } {
    if (!meta.end && this.#refusedFrom(r.from) < MAX_REMEMBERED_REFUSALS) {
      this.#incoming.set(key, r);
      this.#arm(key, r, meta.transfer);
    }
    return { ok: false, error: r.error };
  }

  /** The directory mapped to `type`, if any. */
  dirFor(type: string): string | undefined {
    return this.#dirs[type];
  }

  /**
   * Handles one chunk. Returns `undefined` while the transfer goes on, or
   * the outcome once it ends (or fails: the error is reported once; later
   * chunks of a failed transfer are ignored).
   */
  chunk(type: string, from: string, meta: FileMeta, bytes: Uint8Array):
    | { ok: true; result: FileResult }
    | { ok: false; error: string }
    | undefined {
    const key = `${from} ${meta.transfer}`;
    let t = this.#incoming.get(key);
    if (!t) {
      if (this.activeFrom(from) >= this.#maxPerPeer) {
        const error =
          `Too many file transfers from "${from}" at once: ${this.#maxPerPeer} are in progress (send files one after another)`;
        return this.#refuse(key, meta, incoming(from, type, { error }));
      }
      const dir = this.#dirs[type];
      if (dir === undefined) {
        const error =
          `No directory is mapped for file type "${type}" on this connector (start it with --file-dir ${type}=PATH)`;
        return this.#refuse(key, meta, incoming(from, type, { error }));
      }
      Deno.mkdirSync(dir, { recursive: true });
      const safe = meta.name.replace(/[/\\]/g, "_").replace(/^\.+/, "_") || "_";
      t = incoming(from, type, {
        // one per sender and transfer: another peer naming the same transfer id gets its own
        staging: join(dir, `.sockkit-partial-${stagingName(key)}`),
        target: join(dir, safe),
      });
      if (meta.dir) Deno.mkdirSync(t.staging, { recursive: true });
      this.#incoming.set(key, t);
    }
    if (t.error !== undefined) {
      if (meta.end) this.#drop(key, t);
      return undefined;
    }
    this.#arm(key, t, meta.transfer);
    try {
      // The sender's size is only its word: the bytes that came count too.
      const over = meta.offset === 0 && meta.size > this.#maxBytes
        ? `it is ${meta.size} bytes`
        : t.bytes + bytes.length > this.#maxBytes
        ? `the transfer brought more than that`
        : undefined;
      if (over !== undefined) {
        throw new Error(
          `${over}, over this receiver's cap of ${this.#maxBytes} bytes a transfer (--max-file-size); the partial files were removed`,
        );
      }
      if (meta.path !== undefined || !meta.dir) {
        if (meta.offset === 0) {
          let dest = t.staging;
          if (meta.dir) {
            const rel = normalize(meta.path!);
            if (
              rel.startsWith("..") || rel.startsWith("/") ||
              relative(t.staging, join(t.staging, rel)).startsWith("..")
            ) {
              throw new Error(`unsafe path "${meta.path}" in directory transfer`);
            }
            dest = join(t.staging, rel);
            Deno.mkdirSync(dirname(dest), { recursive: true });
          }
          if (t.file) {
            // the file before this one never ended (no checksum): refused, so that a peer
            // cannot hold a descriptor per chunk it sends
            throw new Error(
              `a file of the transfer started before the previous one ended with its sha256`,
            );
          }
          t.file = Deno.openSync(dest, { write: true, create: true, truncate: true });
          t.hash = createHash("sha256");
          t.files++;
        }
        if (!t.file || !t.hash) throw new Error("chunk arrived before the start of its file");
        let w = 0;
        while (w < bytes.length) w += t.file.writeSync(bytes.subarray(w));
        t.hash.update(bytes);
        t.bytes += bytes.length;
        if (meta.sha256 !== undefined) {
          t.file.syncDataSync();
          t.file.close();
          t.file = undefined;
          const sum = t.hash.digest("hex");
          t.hash = undefined;
          if (sum !== meta.sha256) {
            throw new Error(
              `checksum mismatch for "${
                meta.path ?? meta.name
              }": expected ${meta.sha256}, got ${sum}`,
            );
          }
        }
      }
      if (!meta.end) return undefined;
      if (t.timer !== undefined) clearTimeout(t.timer);
      this.#incoming.delete(key);
      const target = this.#place(t.staging, t.target);
      return {
        ok: true,
        result: { path: target, bytes: t.bytes, files: t.files, dir: meta.dir === true },
      };
    } catch (err) {
      t.file?.close();
      t.file = undefined;
      try {
        Deno.removeSync(t.staging, { recursive: true });
      } catch { /* already gone */ }
      t.error = `Cannot store "${meta.name}": ${(err as Error).message}`;
      if (meta.end) this.#drop(key, t);
      else t.staging = "";
      return { ok: false, error: t.error };
    }
  }

  /** Moves a finished staging file or directory to `target` as the `onExists` policy says. */
  #place(staging: string, target: string): string {
    const policy = this.#opts.onExists ?? "rename";
    if (!exists(target)) {
      Deno.renameSync(staging, target);
      return target;
    }
    if (policy === "refuse") {
      throw new Error(
        `"${target}" already exists and this receiver refuses to replace it (--on-exists refuse): send it under another name`,
      );
    }
    if (policy === "overwrite") {
      // a file is replaced atomically by the rename; a directory is removed first
      if (Deno.lstatSync(target).isDirectory) Deno.removeSync(target, { recursive: true });
      Deno.renameSync(staging, target);
      return target;
    }
    let free = target;
    for (let i = 1; exists(free); i++) free = `${target}.${i}`;
    Deno.renameSync(staging, free);
    return free;
  }

  /** Abandons unfinished transfers (removes their staging files). */
  close(): void {
    for (const [key, t] of [...this.#incoming]) this.#drop(key, t);
  }
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The staging name of a transfer: a digest of its sender and id (any characters, any length). */
function stagingName(key: string): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 32);
}
