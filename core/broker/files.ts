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
export async function* fileChunks(path: string, transfer: string): AsyncGenerator<FileChunk> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (err) {
    throw new Error(`Cannot send "${path}": ${(err as Error).message}`, { cause: err });
  }
  const name = basename(normalize(path));
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

interface Incoming {
  staging: string;
  target: string;
  file: Deno.FsFile | undefined;
  hash: Hash | undefined;
  bytes: number;
  files: number;
  error?: string;
}

/**
 * Receives chunked files and directories into the directory mapped to their
 * message type: chunks are written under a hidden staging name in that
 * directory, each file's SHA-256 is checked, and the finished file or
 * directory is renamed into place (atomically), as `NAME`, or `NAME.1`,
 * `NAME.2`... when that exists.
 */
export class FileReceiver {
  readonly #dirs: Record<string, string>;
  readonly #incoming = new Map<string, Incoming>();

  constructor(fileDirs: Record<string, string>) {
    this.#dirs = fileDirs;
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
    let t = this.#incoming.get(meta.transfer);
    if (!t) {
      const dir = this.#dirs[type];
      if (dir === undefined) {
        const t2: Incoming = {
          staging: "",
          target: "",
          file: undefined,
          hash: undefined,
          bytes: 0,
          files: 0,
          error: "",
        };
        t2.error =
          `No directory is mapped for file type "${type}" on this connector (start it with --file-dir ${type}=PATH)`;
        this.#incoming.set(meta.transfer, t2);
        if (meta.end) this.#incoming.delete(meta.transfer);
        return { ok: false, error: t2.error };
      }
      Deno.mkdirSync(dir, { recursive: true });
      const safe = meta.name.replace(/[/\\]/g, "_").replace(/^\.+/, "_") || "_";
      t = {
        staging: join(dir, `.sockkit-partial-${meta.transfer.replace(/[^\w.-]/g, "_")}`),
        target: join(dir, safe),
        file: undefined,
        hash: undefined,
        bytes: 0,
        files: 0,
      };
      if (meta.dir) Deno.mkdirSync(t.staging, { recursive: true });
      this.#incoming.set(meta.transfer, t);
      void from;
    }
    if (t.error !== undefined) {
      if (meta.end) this.#incoming.delete(meta.transfer);
      return undefined;
    }
    try {
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
      this.#incoming.delete(meta.transfer);
      let target = t.target;
      for (let i = 1; exists(target); i++) target = `${t.target}.${i}`;
      Deno.renameSync(t.staging, target);
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
      if (meta.end) this.#incoming.delete(meta.transfer);
      return { ok: false, error: t.error };
    }
  }

  /** Abandons unfinished transfers (removes their staging files). */
  close(): void {
    for (const t of this.#incoming.values()) {
      t.file?.close();
      if (t.staging) {
        try {
          Deno.removeSync(t.staging, { recursive: true });
        } catch { /* already gone */ }
      }
    }
    this.#incoming.clear();
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
