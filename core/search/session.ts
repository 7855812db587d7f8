/**
 * One client connection of the search server: splits the byte stream into
 * queries, answers them in order (coalescing replies into few writes), and
 * handles one-shot clients that send a query without a newline and wait.
 */
import type { Connection } from "../net/mod.ts";
import { LineFramer, PayloadTooLargeError } from "../net/mod.ts";
import { type Logger, nullLogger } from "../log/mod.ts";
import type { Matcher } from "./matcher.ts";
import {
  cleanQuery,
  errorReply,
  MAX_QUERY_BYTES,
  REPLY_EXISTS,
  REPLY_NOT_FOUND,
} from "./protocol.ts";

/** Options for {@linkcode serveSearchSession}. */
export interface SessionOptions {
  /** Answers queries. */
  matcher: Matcher;
  /** A partial query with no newline is answered after this much silence, ms. Default 50. */
  idleMs?: number;
  /** Unanswered queries after which reading pauses. Default 256. */
  maxInFlight?: number;
  /** Per-query debug lines (client, query, result, elapsed µs). Default: silent. */
  logger?: Logger;
  /** Called once per answered query with its result and time to answer, s (metrics). */
  onAnswer?: (result: QueryResult, seconds: number) => void;
}

/** How a query was answered. */
export type QueryResult = "exists" | "not_found" | "error";

interface Entry {
  bytes: Uint8Array | undefined;
}

/** How long a client may keep its side open after the server ended its side, ms. */
const END_GRACE_MS = 2000;

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const EXISTS = encoder.encode(REPLY_EXISTS);
const NOT_FOUND = encoder.encode(REPLY_NOT_FOUND);
const errorBytes = (err: unknown) =>
  encoder.encode(errorReply(err instanceof Error ? err.message : String(err)));

/**
 * Serves one connection until the client closes it, a query is too long, or
 * `signal` aborts (then the replies owed are written and the socket ends).
 */
export function serveSearchSession(
  conn: Connection,
  signal: AbortSignal,
  options: SessionOptions,
): Promise<void> {
  const { matcher } = options;
  const socket = conn.socket;
  const log = options.logger ?? nullLogger;
  const onAnswer = options.onAnswer;
  const debug = log.enabled("debug");
  const timed = debug || onAnswer !== undefined;
  const idleMs = options.idleMs ?? 50;
  const maxInFlight = options.maxInFlight ?? 256;
  const framer = new LineFramer({ maxLineBytes: MAX_QUERY_BYTES });
  let queue: Entry[] = [];
  let head = 0;
  let ending = false;
  let writeBlocked = false;
  let paused = false;
  let idle: ReturnType<typeof setTimeout> | undefined;
  let endTimer: ReturnType<typeof setTimeout> | undefined;

  const LABEL = { exists: "EXISTS", not_found: "NOT FOUND", error: "ERROR" } as const;
  const logQuery = (query: Uint8Array, result: QueryResult, t0: number) => {
    const ms = performance.now() - t0;
    onAnswer?.(result, ms / 1000);
    if (!debug) return;
    log.debug("query", {
      client: conn.peer.address,
      query: decoder.decode(query),
      result: LABEL[result],
      us: Math.round(ms * 1000),
    });
  };

  const answer = (raw: Uint8Array) => {
    const query = cleanQuery(raw);
    const t0 = timed ? performance.now() : 0;
    let result: boolean | Promise<boolean>;
    try {
      result = matcher.match(query);
    } catch (err) {
      if (timed) logQuery(query, "error", t0);
      queue.push({ bytes: errorBytes(err) });
      return;
    }
    if (typeof result === "boolean") {
      if (timed) logQuery(query, result ? "exists" : "not_found", t0);
      queue.push({ bytes: result ? EXISTS : NOT_FOUND });
      return;
    }
    const entry: Entry = { bytes: undefined };
    queue.push(entry);
    const copy = query.slice(); // the framer's view may be reused
    result.then(
      (found) => {
        entry.bytes = found ? EXISTS : NOT_FOUND;
        if (timed) logQuery(copy, found ? "exists" : "not_found", t0);
      },
      (err) => {
        entry.bytes = errorBytes(err);
        if (timed) logQuery(copy, "error", t0);
      },
    ).finally(pump);
  };

  const flowControl = () => {
    const shouldPause = ending || writeBlocked || queue.length - head > maxInFlight;
    if (shouldPause && !paused) {
      paused = true;
      socket.pause();
    } else if (!shouldPause && paused) {
      paused = false;
      socket.resume();
    }
  };

  function pump(): void {
    const start = head;
    let size = 0;
    while (head < queue.length) {
      const bytes = queue[head]!.bytes;
      if (bytes === undefined) break;
      size += bytes.length;
      head++;
    }
    let out: Uint8Array | undefined;
    if (head - start === 1) {
      out = queue[start]!.bytes;
    } else if (head > start) {
      out = new Uint8Array(size);
      let at = 0;
      for (let i = start; i < head; i++) {
        const b = queue[i]!.bytes!;
        out.set(b, at);
        at += b.length;
      }
    }
    if (head === queue.length) {
      queue = [];
      head = 0;
    } else if (head > 1024) {
      queue = queue.slice(head);
      head = 0;
    }
    if (out !== undefined && !socket.destroyed && !socket.write(out)) writeBlocked = true;
    if (ending && head === queue.length) {
      if (!socket.destroyed && !endTimer) {
        socket.end();
        // Read (and drop) what is left so the client's end is seen and the
        // socket closes; a client that never closes its side is cut off.
        paused = false;
        socket.resume();
        endTimer = setTimeout(() => socket.destroy(), END_GRACE_MS);
      }
      return;
    }
    flowControl();
  }

  const finish = () => {
    if (ending) return;
    ending = true;
    clearTimeout(idle);
    socket.off("data", onData);
    pump();
  };

  const takeRest = () => {
    if (framer.pending > 0) answer(framer.takeRest());
  };

  function onData(chunk: Uint8Array): void {
    try {
      framer.push(chunk, answer);
    } catch (err) {
      if (!(err instanceof PayloadTooLargeError)) throw err;
      queue.push({ bytes: encoder.encode(errorReply(`query too long: ${err.message}`)) });
      onAnswer?.("error", 0);
      log.debug("query too long", { client: conn.peer.address, bytes: err.size });
      finish();
      return;
    }
    clearTimeout(idle);
    if (framer.pending > 0) {
      idle = setTimeout(() => {
        idle = undefined;
        if (ending) return;
        takeRest();
        pump();
      }, idleMs);
    }
    pump();
  }

  // Answer one-shot queries after the client half-closes: keep our side open.
  (socket as { allowHalfOpen: boolean }).allowHalfOpen = true;
  socket.on("data", onData);
  socket.on("drain", () => {
    writeBlocked = false;
    flowControl();
  });
  socket.once("end", () => {
    if (ending) return;
    clearTimeout(idle);
    takeRest();
    finish();
  });
  const onAbort = () => finish();
  signal.addEventListener("abort", onAbort, { once: true });
  return conn.closed.then(() => {
    clearTimeout(idle);
    clearTimeout(endTimer);
    signal.removeEventListener("abort", onAbort);
  });
}
