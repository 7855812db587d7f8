import { type Logger, nullLogger } from "../log/mod.ts";
import { type Connection, describePeer, type PeerIdentity } from "../net/mod.ts";
import { JsonStreamFramer } from "../net/framing/mod.ts";
import { kvCommands, type Layout, streamCommand } from "./layout.ts";
import type { IngestMetrics } from "./metrics.ts";
import type { BatchWriter, WriteOwner } from "./writer.ts";

/** Options for {@linkcode IngestSession}. */
export interface SessionOptions {
  /** Where accepted objects go. */
  writer: BatchWriter;
  /** Storage layout. */
  layout: Layout;
  /** Key prefix (kv layout). Default `""`. */
  keyPrefix?: string;
  /** Full stream key (stream layout). Default `"ingest"`. */
  streamKey?: string;
  /** `MAXLEN ~` for the stream layout. Default: none. */
  streamMaxlen?: number;
  /** Largest object in bytes. Default 1 MiB. */
  maxPayload?: number;
  /** Write `{"ok":N}` / `{"error":...}` lines. Default `false` (the server stays silent). */
  ack?: boolean;
  /** Counters. Default: none. */
  metrics?: IngestMetrics;
  /** Logger. Default: silent. */
  logger?: Logger;
}

const OPEN_BRACE = 0x7b;

function kindOf(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

/** The identity stored with stream entries: certificate CN, else fingerprint, else address. */
export function clientLabel(peer: PeerIdentity): string {
  return peer.cn ?? peer.fingerprint ?? `${peer.address}:${peer.port}`;
}

/**
 * One client connection of the ingest server: frames the byte stream into
 * JSON values, hands each object's commands to the writer, and pauses the
 * socket while the writer is over its high-water mark. A value that is not
 * an object is rejected (logged, `{"error":...}` with `--ack`) and the
 * connection continues; malformed JSON or a value over `maxPayload` stops
 * reading, waits until everything before it is stored, then closes. At EOF
 * or when the server drains, it waits for its objects to be stored, sends a
 * final `{"ok":N}` (with `ack`) and closes.
 */
export class IngestSession implements WriteOwner {
  readonly #conn: Connection;
  readonly #o: SessionOptions;
  readonly #log: Logger;
  readonly #framer: JsonStreamFramer;
  readonly #decoder = new TextDecoder("utf-8", { fatal: true });
  readonly #client: string;
  readonly #prefix: string;
  readonly #streamKey: string;
  #accepted = 0;
  #stored = 0;
  #failed = 0;
  #stopped = false;
  #ackScheduled = false;
  #lastAck = -1;
  #settleWaiters: Array<() => void> = [];
  #paused = false;

  constructor(conn: Connection, options: SessionOptions) {
    this.#conn = conn;
    this.#o = options;
    this.#log = (options.logger ?? nullLogger).child({ peer: describePeer(conn.peer) });
    this.#framer = new JsonStreamFramer({ maxValueBytes: options.maxPayload ?? 1024 * 1024 });
    this.#client = clientLabel(conn.peer);
    this.#prefix = options.keyPrefix ?? "";
    this.#streamKey = options.streamKey ?? "ingest";
  }

  /** Objects accepted on this connection. */
  get accepted(): number {
    return this.#accepted;
  }

  /** Objects stored (in Redis or the spool) for this connection. */
  get stored(): number {
    return this.#stored;
  }

  /** Runs the session until the client leaves, input is bad, or `signal` aborts (drain). */
  async run(signal: AbortSignal): Promise<void> {
    const socket = this.#conn.socket;
    const m = this.#o.metrics;
    if (m) {
      m.connectionsTotal++;
      m.connectionsOpen++;
    }
    try {
      let finish!: (why: string) => void;
      const finished = new Promise<string>((resolve) => finish = resolve);
      socket.on("data", (chunk: Uint8Array) => {
        if (this.#stopped) return;
        try {
          this.#framer.push(chunk, (bytes) => this.#onValue(bytes));
        } catch (err) {
          this.#bad(err as Error);
        }
        if (this.#stopped) {
          finish("bad input");
          return;
        }
        if (!this.#paused && this.#o.writer.overloaded) {
          this.#paused = true;
          socket.pause();
          this.#o.writer.belowLowWater().then(() => {
            this.#paused = false;
            if (!this.#stopped) socket.resume();
          });
        }
      });
      socket.once("end", () => finish("eof"));
      socket.once("close", () => finish("closed"));
      const onAbort = () => finish("drain");
      signal.addEventListener("abort", onAbort, { once: true });
      if (signal.aborted) onAbort();
      const why = await finished;
      signal.removeEventListener("abort", onAbort);
      this.#stop();
      if (why === "eof") {
        try {
          const dropped = this.#framer.flush((bytes) => this.#onValue(bytes));
          if (dropped > 0) {
            this.#log.warn("client closed in the middle of a value; its bytes are discarded", {
              bytes: dropped,
            });
          }
        } catch { /* the framer failed earlier; already reported */ }
      }
      await this.#allSettled();
      if (this.#o.ack) await this.#conn.write(`{"ok":${this.#stored}}\n`);
      this.#log.debug("session finished", { reason: why, objects: this.#accepted });
      await this.#conn.close();
    } finally {
      if (m) m.connectionsOpen--;
    }
  }

  #stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#conn.socket.pause();
  }

  #onValue(bytes: Uint8Array): void {
    if (this.#stopped) return;
    let text: string;
    let value: unknown;
    try {
      text = this.#decoder.decode(bytes);
      value = JSON.parse(text);
    } catch (err) {
      this.#bad(new SyntaxError(`Malformed JSON: ${(err as Error).message}`));
      return;
    }
    if (bytes[0] !== OPEN_BRACE || value === null || typeof value !== "object") {
      this.#reject(`not a JSON object: got ${kindOf(value)}`, text);
      return;
    }
    const w = this.#o.writer;
    let n: number;
    if (this.#o.layout === "kv") {
      n = kvCommands(value as Record<string, unknown>, this.#prefix, w.commands());
    } else {
      w.commands().push(streamCommand(text, this.#client, this.#streamKey, this.#o.streamMaxlen));
      n = 1;
    }
    this.#accepted++;
    if (this.#o.metrics) this.#o.metrics.objectsReceived++;
    w.added(this, n);
  }

  #reject(reason: string, text: string): void {
    if (this.#o.metrics) this.#o.metrics.objectsRejected++;
    this.#log.warn("rejected input", {
      reason,
      fingerprint: this.#conn.peer.fingerprint,
      sample: text.length > 80 ? text.slice(0, 80) + "..." : text,
    });
    if (this.#o.ack) void this.#conn.write(JSON.stringify({ error: reason }) + "\n");
  }

  /** Malformed or oversized input: stop reading; `run` stores what came before, then closes. */
  #bad(err: Error): void {
    if (this.#stopped) return;
    if (this.#o.metrics) this.#o.metrics.objectsRejected++;
    this.#log.warn("bad input: closing the connection after storing what came before", {
      error: err.message,
      fingerprint: this.#conn.peer.fingerprint,
      stored_before: this.#accepted,
    });
    this.#stop();
    if (this.#o.ack) void this.#conn.write(JSON.stringify({ error: err.message }) + "\n");
  }

  /** @internal Called by the writer. */
  settled(stored: number, failed: number, reason?: string): void {
    this.#stored += stored;
    this.#failed += failed;
    if (failed > 0 && this.#o.ack) {
      void this.#conn.write(
        JSON.stringify({ error: `Redis refused the write: ${reason}`, failed }) + "\n",
      );
    }
    if (this.#o.ack && !this.#ackScheduled) {
      this.#ackScheduled = true;
      queueMicrotask(() => {
        this.#ackScheduled = false;
        if (this.#stored !== this.#lastAck) {
          this.#lastAck = this.#stored;
          void this.#conn.write(`{"ok":${this.#stored}}\n`);
        }
      });
    }
    if (this.#stored + this.#failed >= this.#accepted && this.#settleWaiters.length > 0) {
      const w = this.#settleWaiters;
      this.#settleWaiters = [];
      for (const f of w) f();
    }
  }

  #allSettled(): Promise<void> {
    if (this.#stored + this.#failed >= this.#accepted) return Promise.resolve();
    return new Promise((resolve) => this.#settleWaiters.push(resolve));
  }
}
