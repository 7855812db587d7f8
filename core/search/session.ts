/**
 * One client connection of the search server: splits the byte stream into
 * queries, answers them in order (coalescing replies into few writes), and
 * handles one-shot clients that send a query without a newline and wait.
 * At most `maxInFlight` queries are unanswered at a time: the rest of a
 * chunk waits, unframed, until answers drain.
 */
import type { Connection } from "../net/mod.ts";
import { LineFramer, PayloadTooLargeError } from "../net/mod.ts";
import { errorText, type Logger, nullLogger } from "../log/mod.ts";
import type { Matcher } from "./matcher.ts";
import {
  cleanQuery,
  errorReply,
  MAX_PADDING_BYTES,
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
  /** Unanswered queries after which framing stops and reading pauses. Default 256. */
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

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const EXISTS = encoder.encode(REPLY_EXISTS);
const NOT_FOUND = encoder.encode(REPLY_NOT_FOUND);
const errorBytes = (err: unknown) => encoder.encode(errorReply(errorText(err)));

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
  const log = options.logger ?? nullLogger;
  const onAnswer = options.onAnswer;
  const debug = log.enabled("debug");
  const timed = debug || onAnswer !== undefined;
  const idleMs = options.idleMs ?? 50;
  const maxInFlight = options.maxInFlight ?? 256;
  const framer = new LineFramer({
    maxLineBytes: MAX_QUERY_BYTES,
    maxPaddingBytes: MAX_PADDING_BYTES,
  });
  /** This connection, for the worker pool's turns between clients. */
  const client = {};
  /** Bytes received after the query that reached `maxInFlight`, not framed yet (reading is paused). */
  let backlog: Uint8Array | undefined;
  /** The client half-closed while a backlog waited. */
  let peerEnded = false;
  let queue: Entry[] = [];
  let head = 0;
  let ending = false;
  let writeBlocked = false;
  let paused = false;
  let idle: ReturnType<typeof setTimeout> | undefined;
  let endStarted = false;

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

  /** Whether this connection has sent a query yet. */
  let asked = false;
  const answer = (raw: Uint8Array) => {
    asked = true;
    const query = cleanQuery(raw);
    const t0 = timed ? performance.now() : 0;
    let result: boolean | Promise<boolean>;
    try {
      result = matcher.match(query, { client });
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
    const shouldPause = ending || writeBlocked || backlog !== undefined ||
      queue.length - head > maxInFlight;
    if (shouldPause && !paused) {
      paused = true;
      conn.pause();
    } else if (!shouldPause && paused) {
      paused = false;
      conn.resume();
    }
  };

  /** Answers one framed query; `false` (stop framing) once `maxInFlight` are unanswered. */
  const onLine = (line: Uint8Array): boolean => {
    answer(line);
    return queue.length - head < maxInFlight;
  };

  /** Frames `bytes` up to the `maxInFlight`th unanswered query; keeps what is left as the backlog. */
  function frame(bytes: Uint8Array): void {
    let at: number;
    try {
      at = framer.push(bytes, onLine);
    } catch (err) {
      if (!(err instanceof PayloadTooLargeError)) throw err;
      backlog = undefined;
      queue.push({ bytes: encoder.encode(errorReply(`query too long: ${err.message}`)) });
      onAnswer?.("error", 0);
      log.debug("query too long", { client: conn.peer.address, bytes: err.size });
      finish();
      return;
    }
    // The connection's chunk may be reused after `data` returns; the backlog is ours.
    if (at === bytes.length) backlog = undefined;
    else backlog = bytes === backlog ? bytes.subarray(at) : bytes.slice(at);
  }

  /** Once every byte received is framed: a partial query is answered after `idleMs` of silence. */
  function armIdle(): void {
    clearTimeout(idle);
    if (framer.pending > 0) {
      idle = setTimeout(() => {
        idle = undefined;
        if (ending) return;
        takeRest();
        pump();
      }, idleMs);
    }
  }

  function pump(): void {
    flush();
    if (backlog !== undefined && !ending) {
      // Frames more of the backlog as answers drain (they are written in order).
      while (
        backlog !== undefined && !ending && !writeBlocked && queue.length - head < maxInFlight
      ) {
        frame(backlog);
        flush();
      }
      if (ending) return;
      if (backlog === undefined) {
        if (peerEnded) {
          takeRest();
          finish();
          return;
        }
        armIdle();
      }
    }
    if (!endStarted) flowControl();
  }

  /** Writes the answers ready at the head of the queue; ends the socket once `ending` and all are written. */
  function flush(): void {
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
    if (out !== undefined && !conn.send(out) && !writeBlocked) {
      writeBlocked = true;
      conn.drained().then(() => {
        writeBlocked = false;
        pump();
      });
    }
    if (ending && head === queue.length) {
      if (!endStarted) {
        endStarted = true;
        // Drops what is left unread so the client's end is seen; a client that
        // stops making progress is cut off by the idle timeout.
        void conn.end();
      }
    }
  }

  const finish = () => {
    if (ending) return;
    ending = true;
    clearTimeout(idle);
    pump();
  };

  /**
   * Answers the unterminated rest. Only padding (`\x00`, `\r`) after a query
   * is that query's buffer, not another query; only padding as the
   * connection's first bytes is a zeroed buffer, an empty query (answered
   * "not found", as an empty line is).
   */
  const takeRest = () => {
    if (framer.pending === 0) return;
    const rest = framer.takeRest();
    if (cleanQuery(rest).length > 0 || !asked) answer(rest);
  };

  function onData(chunk: Uint8Array): void {
    if (ending) return;
    if (backlog !== undefined) {
      // Delivered after the pause (a TLS record already decrypted): waits its turn.
      const joined = new Uint8Array(backlog.length + chunk.length);
      joined.set(backlog);
      joined.set(chunk, backlog.length);
      backlog = joined;
      flowControl();
      return;
    }
    frame(chunk);
    if (ending) return;
    if (backlog === undefined) armIdle();
    else clearTimeout(idle);
    pump();
  }

  // Answer one-shot queries after the client half-closes (the listener's
  // policy keeps our side open).
  conn.receive({
    data: onData,
    end: () => {
      if (ending) return;
      clearTimeout(idle);
      if (backlog !== undefined) {
        peerEnded = true; // answered once the backlog is framed
        return;
      }
      takeRest();
      finish();
    },
  });
  const onAbort = () => finish();
  signal.addEventListener("abort", onAbort, { once: true });
  return conn.closed.then(() => {
    clearTimeout(idle);
    signal.removeEventListener("abort", onAbort);
  });
}
