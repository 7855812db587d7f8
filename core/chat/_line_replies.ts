/**
 * Answering one client's lines: each complete line is decoded (invalid
 * UTF-8 replaced, never thrown), reversed and sent back. A line over the
 * limit, a partial line that does not complete in time, and a client that
 * sends lines without reading the replies each end the connection.
 */
import type { Logger } from "../log/mod.ts";
import { type Connection, LineFramer, PayloadTooLargeError } from "../net/mod.ts";
import type { ChatMessage } from "./message.ts";
import { reverseLine } from "./reverse.ts";
import { errorText } from "../log/mod.ts";

/** How {@linkcode answerLines} answers one client. */
export interface LineRepliesOptions {
  /** The peer's label in logs. */
  peer: string;
  log: Logger;
  /** Longest line accepted, bytes. */
  maxLineBytes: number;
  /** A partial line must complete within this many ms; 0 = no limit. */
  lineTimeoutMs: number;
  /** Unread replies above this many bytes close the connection. */
  maxPendingBytes: number;
  /** Encodes one message in the server's mode (plain or JSON line). */
  encode: (message: ChatMessage) => string;
  /** Called once per line answered. */
  answered: () => void;
  /** Sends one error line and closes the connection. */
  endWith: (error: string) => Promise<void>;
}

// ignoreBOM: a leading U+FEFF is part of the line, as Python's bytes.decode() keeps it
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Decodes one line. Invalid UTF-8 never throws: each bad sequence becomes
 * U+FFFD (the WHATWG replacement rule), and `invalid` says it happened.
 */
function decodeLine(bytes: Uint8Array): { text: string; invalid: boolean } {
  try {
    return { text: strict.decode(bytes), invalid: false };
  } catch {
    return { text: lenient.decode(bytes), invalid: true };
  }
}

/**
 * Starts answering the lines `conn` sends, each with the line reversed;
 * returns the function that stops the line timer (call it once the
 * connection has closed).
 */
export function answerLines(conn: Connection, o: LineRepliesOptions): () => void {
  const { peer, log } = o;
  const framer = new LineFramer({ maxLineBytes: o.maxLineBytes });
  const maxPending = o.maxPendingBytes;
  // Every line is answered as it arrives; the replies queue in the socket while
  // the client is slow to read them. The socket is not paused to push back:
  // under Deno 2.9 a paused node:tls socket keeps reading from the kernel into
  // an unbounded native buffer (measured: 2 GB from one client that sent and
  // never read). Instead a client with more than `maxPendingBytes` of unread
  // replies is closed, which bounds the memory one connection can hold.
  let stopped = false;
  // A partial line must complete within lineTimeoutMs (trickling clients);
  // a client that sends nothing is a legitimate listener of the dates.
  const lineTimeoutMs = o.lineTimeoutMs;
  let lineTimer: ReturnType<typeof setTimeout> | undefined;
  // `completed`: a line ended in this chunk, so what is pending now is a new
  // line, whose time starts now (a client streaming lines whose writes end
  // mid-line is not trickling).
  const armLineTimer = (completed: boolean) => {
    if (framer.pending === 0 || completed) {
      clearTimeout(lineTimer);
      lineTimer = undefined;
    }
    if (framer.pending > 0 && lineTimer === undefined && lineTimeoutMs > 0) {
      lineTimer = setTimeout(() => {
        stopped = true;
        log.warn("closing client: its line did not complete in time", {
          peer,
          lineTimeoutMs,
        });
        void o.endWith(
          `Line timeout: a line was not completed within ${lineTimeoutMs} ms (end each line with a newline); closing the connection`,
        );
      }, lineTimeoutMs);
    }
  };
  const onData = (chunk: Uint8Array): void => {
    if (stopped) return;
    let out = "";
    try {
      framer.push(chunk, (line) => {
        const { text, invalid } = decodeLine(line);
        if (invalid) log.debug("invalid UTF-8 replaced with U+FFFD", { peer });
        out += o.encode({ type: "string", payload: reverseLine(text) });
        o.answered();
      });
    } catch (err) {
      stopped = true;
      if (!(err instanceof PayloadTooLargeError)) {
        // Never let one connection's failure escape into the event loop.
        log.error("closing client: cannot answer its line", {
          peer,
          error: errorText(err),
        });
        conn.destroy();
        return;
      }
      if (out !== "") conn.send(out);
      log.warn("closing client: line too long", { peer, limit: err.limit });
      void o.endWith(
        `Line too long: more than ${err.limit} bytes without a newline (the limit is ${err.limit} bytes); closing the connection`,
      );
      return;
    }
    armLineTimer(out !== "");
    if (out === "") return;
    conn.send(out);
    if (conn.unsent > maxPending) {
      stopped = true;
      log.warn("closing client: it sends lines but does not read the replies", {
        peer,
        unreadBytes: conn.unsent,
      });
      // It is not reading, so it would not see an error line: close at once.
      conn.destroy();
    }
  };
  conn.receive({ data: onData });
  return () => clearTimeout(lineTimer);
}
