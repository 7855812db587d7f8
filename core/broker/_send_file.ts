import type { MsgHeader } from "./frame.ts";
import { fileChunks } from "./files.ts";
import { BrokerError, RequestTimeoutError } from "./errors.ts";
import type { FileResult, SendFileOptions } from "./api.ts";
import type { Router } from "./router.ts";

const EMPTY: Uint8Array = new Uint8Array(0);
/** File chunks sent and not yet acknowledged at most. */
const UNACKED_CHUNKS = 16;

/** Checks a `name` to store a file under: one path component. */
function storeName(name: string): string {
  if (name === "" || name === "." || name === ".." || /[/\\\0]/.test(name)) {
    throw new TypeError(
      `Invalid file name "${name}" to store under: expected a base name without "/" (the receiver picks the directory)`,
    );
  }
  return name;
}

/**
 * Sends a file or directory through `c` in checksummed chunks (one message
 * each, ids `TRANSFER.N`) and resolves with what the receiver reports once it
 * stored everything; rejects when the receiver refuses it or after
 * `options.timeoutMs` (default 600000). With `options.delete` the source is
 * removed after the receiver stored it (never before, never on failure).
 */
export async function sendFile(
  c: Router,
  dst: string,
  type: string,
  path: string,
  options: SendFileOptions,
): Promise<FileResult> {
  const name = options.name === undefined ? undefined : storeName(options.name);
  const transfer = c.newId();
  let failed: Error | undefined;
  let fail: (err: Error) => void = () => {};
  const done = new Promise<FileResult>((resolve, reject) => {
    fail = (err) => {
      if (failed) return;
      c.unexpect(transfer);
      reject(failed = err);
    };
    // a full table of pending answers refuses the transfer before any chunk goes out
    try {
      c.expect(transfer, c.resolve(dst), type, 0, {
        resolve: (_h, data) => {
          const r = JSON.parse(new TextDecoder().decode(data)) as
            & { ok: boolean; error?: string }
            & FileResult;
          if (r.ok) resolve({ path: r.path, bytes: r.bytes, files: r.files, dir: r.dir });
          else reject(failed = new BrokerError(`Peer "${dst}" refused the file: ${r.error}`));
        },
        reject: (err) => reject(failed = err),
      });
    } catch (err) {
      reject(failed = err as Error);
    }
  });
  done.catch(() => {});
  let i = 0;
  // A chunk refused on the way (a cluster whose NATS cannot carry it) ends the transfer at once;
  // at most UNACKED_CHUNKS wait for their acknowledgement.
  const unacked: Promise<void>[] = [];
  try {
    for await (const chunk of fileChunks(path, transfer, name)) {
      if (failed) break;
      const header: MsgHeader = {
        kind: "msg",
        type,
        src: c.name,
        dst,
        id: `${transfer}.${i++}`,
        file: chunk.meta,
      };
      let r: true | Promise<void> = true;
      unacked.push(
        new Promise<void>((acked) => {
          r = c.sendHeader(header, EMPTY, chunk.bytes, (err) => {
            if (err) {
              fail(new BrokerError(`Cannot send file "${path}" to "${dst}": ${err.message}`));
            }
            acked();
          });
        }),
      );
      if (r !== true) await r;
      if (unacked.length >= UNACKED_CHUNKS) await unacked.shift();
    }
    if (failed) throw failed;
  } catch (err) {
    c.unexpect(transfer);
    throw err;
  }
  const timeoutMs = options.timeoutMs ?? 600_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let result: FileResult;
  try {
    result = await Promise.race([
      done,
      new Promise<never>((_, reject) =>
        timer = setTimeout(() => {
          c.unexpect(transfer);
          reject(new RequestTimeoutError(transfer, dst, type, timeoutMs));
        }, timeoutMs)
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
  if (options.delete) {
    try {
      await Deno.remove(path, { recursive: true });
    } catch (err) {
      throw new BrokerError(
        `Peer "${dst}" stored "${path}" at ${result.path}, but removing the source failed: ${
          (err as Error).message
        }`,
        { cause: err },
      );
    }
  }
  return result;
}
