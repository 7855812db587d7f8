import type { Connection } from "../net/mod.ts";
import { LineFramer } from "../net/framing/mod.ts";
import { type ClientEvent, ClientSession } from "./session.ts";
import { errorText } from "../log/mod.ts";

/** Options for {@linkcode runClient}. */
export interface RunClientOptions {
  /** Lines to send (without newlines), for example standard input split into lines. */
  input: AsyncIterable<string>;
  /** Called for every server line the moment it arrives. */
  onEvent: (event: ClientEvent) => void;
  /** The server speaks JSON lines; otherwise detected from the first line. Default `false`. */
  json?: boolean;
  /** Longest server line accepted, bytes. Default 1 MiB. */
  maxLineBytes?: number;
}

/** How a client session ended. */
export type ClientOutcome =
  /** Input ended and every reply arrived; the connection was closed by us. */
  | { kind: "done" }
  /** The server closed or dropped the connection first. `lastError` is its last error line, if any. */
  | { kind: "lost"; reason: string; lastError?: string; outstanding: number };

const decoder = new TextDecoder();

/**
 * How long after the server closed, with every reply in, the input may take
 * to end for the session to count as done: a pipe's EOF can be read just
 * after the close. A line instead, or nothing in this time, is a lost session.
 */
export const INPUT_END_GRACE_MS = 1000;

/**
 * Runs one clientcli session on an open connection: sends each input line
 * and reads the socket at the same time, reporting dates, replies and
 * errors through `onEvent` as they arrive. When the input ends it waits
 * for the replies still owed (dates do not count), then closes and returns
 * `done`. If the server goes first it returns `lost`, unless every reply
 * is in and the input ends within {@linkcode INPUT_END_GRACE_MS}.
 *
 * @example
 * ```ts
 * const outcome = await runClient(conn, { input: lines, onEvent: (e) => print(e) });
 * ```
 */
export function runClient(conn: Connection, options: RunClientOptions): Promise<ClientOutcome> {
  const session = new ClientSession({ json: options.json ?? false });
  const framer = new LineFramer({ maxLineBytes: options.maxLineBytes ?? 1024 * 1024 });
  let inputDone = false;
  let finished = false;
  let lastError: string | undefined;

  return new Promise<ClientOutcome>((resolve) => {
    const finish = (outcome: ClientOutcome) => {
      if (finished) return;
      finished = true;
      clearTimeout(gone);
      if (outcome.kind === "done") void conn.close(500);
      else conn.destroy();
      resolve(outcome);
    };
    const maybeDone = () => {
      if (inputDone && session.outstanding === 0) finish({ kind: "done" });
    };
    const onData = (chunk: Uint8Array) => {
      try {
        framer.push(chunk, (bytes) => {
          const event = session.receive(decoder.decode(bytes));
          if (event.kind === "error") lastError = event.text;
          options.onEvent(event);
        });
      } catch (err) {
        finish({
          kind: "lost",
          reason: `the server sent a line that is too long (${(err as Error).message})`,
          outstanding: session.outstanding,
        });
        return;
      }
      maybeDone();
    };
    /** Set once the server went away with every reply in while input is still open. */
    let gone: ReturnType<typeof setTimeout> | undefined;
    const lost = () => {
      if (finished || gone !== undefined) return; // (EOF and then the close both call this)
      if (!inputDone && session.outstanding === 0) {
        // Every reply is in: if the input ends now (a pipe's EOF read a moment
        // after the server's close), the session is done, not lost.
        gone = setTimeout(reportLost, INPUT_END_GRACE_MS);
        return;
      }
      reportLost();
    };
    const reportLost = () => {
      if (finished) return;
      const outcome: ClientOutcome = {
        kind: "lost",
        reason: conn.error ?? "the server closed the connection",
        outstanding: session.outstanding,
      };
      if (lastError !== undefined) outcome.lastError = lastError;
      finish(outcome);
    };
    // The server half-closing (EOF) ends the session as surely as a full close.
    conn.receive({ data: (chunk) => void (finished || onData(chunk)), end: lost });
    conn.closed.then(lost);
    (async () => {
      for await (const line of options.input) {
        if (finished) return;
        if (gone !== undefined) return reportLost(); // a line the closed server cannot get
        session.sent(line);
        await conn.write(line + "\n");
      }
      inputDone = true;
      maybeDone();
    })().catch((err) =>
      finish({
        kind: "lost",
        reason: `cannot read input: ${errorText(err)}`,
        outstanding: session.outstanding,
      })
    );
  });
}
