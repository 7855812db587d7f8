import { connect, type Connection } from "../net/mod.ts";
import type { ClientTlsOptions } from "../net/mod.ts";
import { LineFramer } from "../net/framing/mod.ts";

/** Options for {@linkcode sendObjects}. */
export interface SendOptions {
  /** Server host. Default `"localhost"`. */
  host?: string;
  /** Server port. Default 1191. */
  port?: number;
  /** CA, client certificate and key. */
  tls: ClientTlsOptions;
  /** Wait for `{"ok":N}` acknowledgements (server runs with `--ack`). Default `false`. */
  ack?: boolean;
  /** Give up waiting for acknowledgements after this many ms. Default 30000. */
  ackTimeoutMs?: number;
  /**
   * With `ack`: a server that has sent nothing this many ms after the last
   * object was written is taken to run without `--ack` (`noAcks` in the
   * result). Default 5000, at most `ackTimeoutMs`.
   */
  firstAckTimeoutMs?: number;
  /** Aborts sending. */
  signal?: AbortSignal;
}

/** What {@linkcode sendObjects} did. */
export interface SendResult {
  /** Objects written to the socket. */
  sent: number;
  /** Objects the server acknowledged as durably stored, in Redis or its spool (only with `ack`). */
  acknowledged?: number;
  /** Of `acknowledged`, how many went through the server's disk spool (only with `ack`). */
  spooled?: number;
  /** With `ack`: the server sent nothing at all (it runs without `--ack`, or is not storing now). */
  noAcks?: boolean;
  /** `{"error":...}` lines the server sent (only with `ack`). */
  errors: string[];
  /** With `ack`: objects those lines refused (a Redis refusal line can count several). */
  refused?: number;
}

/** After the acknowledgement timeout: how long the close may wait for the server, ms. */
const GIVE_UP_CLOSE_MS = 500;

/**
 * Sends JSON objects to an ingest server over mutual TLS, back to back
 * (`JSON.stringify` of each, as the replaced daemon's clients did), in
 * coalesced writes. With `ack`, waits until the server has acknowledged
 * every object (or reports an error line for it) and returns the count.
 *
 * @example
 * ```ts
 * const r = await sendObjects([{ a: 1 }], { port: 1191, tls, ack: true });
 * r.acknowledged; // 1
 * ```
 */
export async function sendObjects(
  objects: Iterable<unknown> | AsyncIterable<unknown>,
  options: SendOptions,
): Promise<SendResult> {
  const conn = await connect({
    host: options.host ?? "localhost",
    port: options.port ?? 1191,
    tls: options.tls,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  try {
    const errors: string[] = [];
    let acked = 0;
    let spooled = 0;
    let heard = false;
    let wake: (() => void) | undefined;
    if (options.ack) {
      watchAcks(
        conn,
        (n, s) => {
          acked = Math.max(acked, n);
          spooled = Math.max(spooled, s);
        },
        (e) => errors.push(e),
        () => {
          heard = true;
          wake?.();
        },
      );
    }
    const enc = new TextEncoder();
    let sent = 0;
    let buf = "";
    try {
      for await (const obj of objects as AsyncIterable<unknown>) {
        options.signal?.throwIfAborted();
        buf += JSON.stringify(obj);
        sent++;
        if (buf.length >= 64 * 1024) {
          await conn.write(enc.encode(buf));
          buf = "";
        }
      }
    } catch (err) {
      // Bad input after good objects: the complete objects before it are still sent.
      if (buf) await conn.write(enc.encode(buf));
      await conn.close();
      throw err;
    }
    if (buf) await conn.write(enc.encode(buf));
    if (!options.ack) {
      await conn.close();
      return { sent, errors };
    }
    const ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
    const deadline = Date.now() + ackTimeoutMs;
    const silentDeadline = Date.now() + Math.min(options.firstAckTimeoutMs ?? 5000, ackTimeoutMs);
    let closed = false;
    conn.closed.then(() => {
      closed = true;
      wake?.();
    });
    while (acked + countRejected(errors) < sent && !closed && Date.now() < deadline) {
      if (!heard && Date.now() >= silentDeadline) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 200);
      });
    }
    // Given up on acknowledgements: a server that is not reading (its input paused, say while
    // Redis is away and its spool is full) would hold a graceful close for its whole 10 s.
    const settled = acked + countRejected(errors) >= sent;
    await conn.close(settled ? undefined : GIVE_UP_CLOSE_MS);
    return {
      sent,
      acknowledged: acked,
      spooled,
      errors,
      refused: countRejected(errors),
      ...(heard ? {} : { noAcks: true }),
    };
  } finally {
    conn.destroy();
  }
}

function countRejected(errors: string[]): number {
  let n = 0;
  for (const e of errors) {
    const m = /"failed":(\d+)/.exec(e);
    n += m ? Number(m[1]) : 1;
  }
  return n;
}

/** Reads `{"ok":N}` (or `{"ok":N,"spooled":M}`) and `{"error":...}` lines from the server. */
export function watchAcks(
  conn: Connection,
  onOk: (n: number, spooled: number) => void,
  onError: (line: string) => void,
  onAny: () => void = () => {},
): void {
  const framer = new LineFramer({ maxLineBytes: 64 * 1024 });
  const dec = new TextDecoder();
  conn.receive({
    end: () => {},
    data: (chunk) => {
      framer.push(chunk, (line) => {
        const text = dec.decode(line);
        try {
          const v = JSON.parse(text) as { ok?: number; spooled?: number; error?: string };
          if (typeof v.ok === "number") onOk(v.ok, typeof v.spooled === "number" ? v.spooled : 0);
          else onError(text);
        } catch {
          onError(text);
        }
      });
      onAny();
    },
  });
}
