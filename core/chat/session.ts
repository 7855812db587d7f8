import { isDateText } from "./date.ts";
import { type ChatMessage, parseJsonMessage, PLAIN_ERROR_PREFIX } from "./message.ts";
import { reverseLine } from "./reverse.ts";

/** One server line as the client understands it. */
export interface ClientEvent {
  /** `date` broadcast, `reply` to a line we sent, or server `error`. */
  kind: "date" | "reply" | "error";
  /** The date, the reversed line, or the error text (without the `error: ` prefix). */
  text: string;
}

/** Options for {@linkcode ClientSession}. */
export interface ClientSessionOptions {
  /**
   * `true`: the server speaks JSON lines. `false`/absent: detect from the
   * first line received (a `{"msg_type":...}` object means JSON). Default absent.
   */
  json?: boolean;
}

/**
 * The client's bookkeeping for one connection, without I/O: which replies
 * are still owed (dates do not count) and what each incoming line is.
 *
 * In JSON mode the `msg_type` says it. In plain mode the session knows
 * what it sent, so it expects the reversed line next: a line equal to the
 * oldest expected reply is that reply, one starting with `error: ` is an
 * error, one that looks like a date is a date, anything else is taken as a
 * reply. (A reply that happens to equal a date can therefore only be
 * mistaken for one when it is not the expected reply; use `--json` to rule
 * that out.)
 *
 * @example
 * ```ts
 * const s = new ClientSession();
 * s.sent("hello");
 * s.receive("2026-11-24"); // { kind: "date", text: "2026-11-24" }
 * s.receive("olleh"); // { kind: "reply", text: "olleh" }, s.outstanding === 0
 * ```
 */
export class ClientSession {
  #expected: string[] = [];
  #head = 0;
  #mode: "json" | "plain" | undefined;

  constructor(options: ClientSessionOptions = {}) {
    if (options.json) this.#mode = "json";
  }

  /** Replies still owed for lines sent. */
  get outstanding(): number {
    return this.#expected.length - this.#head;
  }

  /** `json`, `plain`, or `undefined` before the first line when detecting. */
  get mode(): "json" | "plain" | undefined {
    return this.#mode;
  }

  /** Records a line sent to the server (without its newline). */
  sent(line: string): void {
    this.#expected.push(reverseLine(line));
  }

  /** Classifies one line received from the server and updates what is owed. */
  receive(line: string): ClientEvent {
    let message: ChatMessage | undefined;
    if (this.#mode !== "plain") {
      message = parseJsonMessage(line);
      this.#mode ??= message ? "json" : "plain";
    }
    if (message) {
      if (message.type === "string") this.#shift();
      return { kind: message.type === "string" ? "reply" : message.type, text: message.payload };
    }
    if (this.outstanding > 0 && this.#expected[this.#head] === line) {
      this.#shift();
      return { kind: "reply", text: line };
    }
    if (line.startsWith(PLAIN_ERROR_PREFIX)) {
      return { kind: "error", text: line.slice(PLAIN_ERROR_PREFIX.length) };
    }
    if (isDateText(line)) return { kind: "date", text: line };
    this.#shift();
    return { kind: "reply", text: line };
  }

  #shift(): void {
    if (this.#head >= this.#expected.length) return;
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#expected.length) {
      this.#expected = this.#expected.slice(this.#head);
      this.#head = 0;
    }
  }
}
