import { connect, type Connection } from "../net/mod.ts";
import {
  type Command,
  encodeCommand,
  RedisReplyError,
  RespParser,
  type RespValue,
} from "./_resp.ts";
import { commandBytes } from "./_resp_buffer.ts";
import { refusalOutage } from "./_redis_refusal.ts";
import {
  type BatchStore,
  MARKER_TTL_SECONDS,
  type ObjectFailure,
  type StoreBatch,
  StoreUnavailableError,
} from "./_store.ts";

/** Options for {@linkcode RespStore}. */
export interface RespStoreOptions {
  /** Database number; overrides the URL's `/N`. Default: the URL's, else 0. */
  db?: number;
  /** Connect timeout, ms. Default 2000. */
  connectTimeoutMs?: number;
}

interface Pending {
  /** Replies still expected for this request. */
  left: number;
  /** Keep every reply, not only the last one and errors. */
  keepAll: boolean;
  /** Replies kept (the last one, and any error before it). */
  replies: RespValue[];
  resolve: (replies: RespValue[]) => void;
  reject: (err: Error) => void;
}

const MULTI = commandBytes(["MULTI"]);
const EXEC = commandBytes(["EXEC"]);
const utf8 = new TextEncoder();

/** The messages of the error replies in `v` (an error, or an array holding some). */
function errorsIn(v: RespValue | RespValue[] | undefined, out: string[] = []): string[] {
  if (v instanceof RedisReplyError) out.push(v.message);
  else if (Array.isArray(v)) {
    for (const x of v) if (x instanceof RedisReplyError) out.push(x.message);
  }
  return out;
}

/**
 * A single Redis server spoken to directly in RESP over one connection: each
 * batch is one coalesced write of `MULTI`, its commands and `EXEC`, and
 * several batches may be in flight (pipelined). Replies are matched in
 * order. This path measured about twice as fast as node-redis `multi()` under
 * Deno (no promise per command); clusters use node-redis (`ClusterStore`).
 * The connection is a `core/net` {@linkcode Connection}; when it closes,
 * every request in flight fails with {@linkcode StoreUnavailableError} and
 * the next request reconnects.
 */
export class RespStore implements BatchStore {
  readonly label: string;
  readonly #host: string;
  readonly #port: number;
  readonly #tls: boolean;
  readonly #password: string | undefined;
  readonly #username: string | undefined;
  readonly #db: number;
  readonly #timeoutMs: number;
  #conn: Connection | undefined;
  #connecting: Promise<void> | undefined;
  #pending: Pending[] = [];
  #head = 0;
  #closed = false;

  constructor(url: string, options: RespStoreOptions = {}) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new TypeError(`Invalid Redis URL "${url}": expected redis://HOST:PORT[/DB]`);
    }
    if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
      throw new TypeError(`Invalid Redis URL "${url}": expected redis:// or rediss://`);
    }
    this.#host = u.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
    this.#port = Number(u.port || 6379);
    this.#tls = u.protocol === "rediss:";
    this.#password = u.password ? decodeURIComponent(u.password) : undefined;
    this.#username = u.username ? decodeURIComponent(u.username) : undefined;
    const pathDb = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
    this.#db = options.db ?? (Number.isInteger(pathDb) ? pathDb : 0);
    this.#timeoutMs = options.connectTimeoutMs ?? 2000;
    this.label = `${u.protocol}//${u.host}/${this.#db}`;
  }

  get connected(): boolean {
    return this.#conn !== undefined && this.#connecting === undefined;
  }

  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreUnavailableError("Redis store is closed"));
    if (this.#conn && !this.#connecting) return Promise.resolve();
    this.#connecting ??= this.#open().finally(() => this.#connecting = undefined);
    return this.#connecting;
  }

  async #open(): Promise<void> {
    let conn: Connection;
    try {
      conn = await connect({
        host: this.#host,
        port: this.#port,
        timeoutMs: this.#timeoutMs,
        // Redis is trusted to read: the writer bounds what is in flight (batches), and a
        // large batch must not be cut by the cap meant for peers that stop reading.
        policy: { maxUnsentBytes: Number.MAX_SAFE_INTEGER },
        ...(this.#tls ? { tls: {} } : {}),
      });
    } catch (err) {
      // connect() names host:port already; the label says more (scheme and database).
      const reason = (err as Error).message.replace(/^Cannot connect to \S+: /, "");
      throw new StoreUnavailableError(`Cannot connect to Redis at ${this.label}: ${reason}`, {
        cause: err,
      });
    }
    const parser = new RespParser((v) => this.#onReply(v));
    conn.receive({
      data: (chunk) => {
        try {
          parser.push(chunk);
        } catch (err) {
          conn.destroy((err as Error).message);
        }
      },
      end: () => conn.destroy("Redis closed the connection"),
    });
    void conn.closed.then(() => this.#lost(conn));
    this.#conn = conn;
    const hello: Command[] = [];
    if (this.#password !== undefined) {
      hello.push(
        this.#username ? ["AUTH", this.#username, this.#password] : ["AUTH", this.#password],
      );
    }
    if (this.#db !== 0) hello.push(["SELECT", String(this.#db)]);
    hello.push(["PING"]);
    const replies = await this.#request(
      hello.map((c) => encodeCommand(c)).join(""),
      hello.length,
      true,
    );
    const err = replies.find((r) => r instanceof RedisReplyError);
    if (err) {
      conn.destroy();
      throw new StoreUnavailableError(
        `Redis at ${this.label} refused the session: ${(err as Error).message}`,
      );
    }
  }

  #lost(conn: Connection): void {
    if (this.#conn !== conn) return;
    this.#conn = undefined;
    const pending = this.#pending.slice(this.#head);
    this.#pending = [];
    this.#head = 0;
    const why = conn.closeReason ?? conn.error;
    const err = new StoreUnavailableError(
      `Lost the connection to Redis at ${this.label}${why ? `: ${why}` : ""}`,
    );
    for (const p of pending) p.reject(err);
  }

  #onReply(v: RespValue): void {
    const p = this.#pending[this.#head];
    if (!p) return;
    if (p.keepAll || p.left === 1 || v instanceof RedisReplyError) p.replies.push(v);
    if (--p.left > 0) return;
    this.#pending[this.#head++] = undefined as unknown as Pending;
    if (this.#head > 1024 && this.#head * 2 > this.#pending.length) {
      this.#pending = this.#pending.slice(this.#head);
      this.#head = 0;
    }
    p.resolve(p.replies);
  }

  /** Sends `wire` (one coalesced write) and resolves with its `replies` replies. */
  #request(
    wire: string | Uint8Array[],
    replies: number,
    keepAll = false,
  ): Promise<RespValue[]> {
    const conn = this.#conn;
    if (!conn || !conn.writable) {
      return Promise.reject(new StoreUnavailableError(`Not connected to Redis at ${this.label}`));
    }
    return new Promise((resolve, reject) => {
      this.#pending.push({ left: replies, keepAll, replies: [], resolve, reject });
      if (typeof wire === "string") conn.send(wire);
      else conn.sendAll(wire);
    });
  }

  async write(batch: StoreBatch): Promise<ObjectFailure[]> {
    if (!this.#conn || this.#connecting) await this.connect();
    return batch.atomic === "batch" ? this.#writeTransaction(batch) : this.#writePipeline(batch);
  }

  /**
   * Objects in order; an object with several commands is in its own MULTI/EXEC.
   * A server-state refusal (READONLY, OOM, ...) of any object throws
   * {@linkcode StoreUnavailableError}: the whole batch is spooled and written
   * again later (kv writes are idempotent), so nothing is dropped.
   */
  async #writePipeline(batch: StoreBatch): Promise<ObjectFailure[]> {
    const { counts } = batch;
    let expected = 0;
    for (let i = 0; i < counts.length; i++) {
      const n = counts[i]!;
      expected += n > 1 ? n + 2 : n;
    }
    if (expected === 0) return [];
    const replies = await this.#request([batch.wire], expected, true);
    const failures: ObjectFailure[] = [];
    const messages: string[] = [];
    let r = 0;
    for (let i = 0; i < counts.length; i++) {
      const n = counts[i]!;
      if (n === 0) continue;
      if (n === 1) {
        const v = replies[r++];
        if (v instanceof RedisReplyError) {
          messages.push(v.message);
          failures.push({ object: i, message: v.message });
        }
        continue;
      }
      // +OK for MULTI, then +QUEUED or the error that aborts the transaction per command, then EXEC's.
      const errors = errorsIn(replies.slice(r + 1, r + n + 1));
      errorsIn(replies[r + n + 1], errors);
      r += n + 2;
      if (errors.length === 0) continue;
      messages.push(...errors);
      // The cause (a queued command's error) says more than EXEC's "EXECABORT Transaction discarded".
      failures.push({ object: i, message: errors[0]! });
    }
    if (failures.length > 0) {
      const outage = refusalOutage(this.label, messages);
      if (outage) throw outage;
    }
    return failures;
  }

  /**
   * The whole batch (and its marker) in one MULTI/EXEC. A server-state
   * refusal while queueing or of EXEC itself (nothing was applied) throws
   * {@linkcode StoreUnavailableError}, so the batch is spooled.
   */
  async #writeTransaction(batch: StoreBatch): Promise<ObjectFailure[]> {
    const { counts } = batch;
    let n = 0;
    for (let i = 0; i < counts.length; i++) n += counts[i]!;
    const chunks: Uint8Array[] = [MULTI, batch.wire];
    if (batch.marker !== undefined) {
      const set = ["SET", batch.marker, "1", "EX", String(MARKER_TTL_SECONDS)];
      chunks.push(utf8.encode(encodeCommand(set)));
      n++;
    }
    chunks.push(EXEC);
    const replies = await this.#request(chunks, n + 2);
    const exec = replies[replies.length - 1];
    const failures: ObjectFailure[] = [];
    if (!Array.isArray(exec)) {
      // EXECABORT (a command was refused while queueing) or EXEC refused: nothing was applied.
      const errors = errorsIn(replies);
      const outage = refusalOutage(this.label, errors);
      if (outage) throw outage;
      const message = errors[0] ?? String(exec);
      for (let i = 0; i < counts.length; i++) failures.push({ object: i, message });
      return failures;
    }
    // Errors inside EXEC's reply come from commands that ran: the rest of the
    // batch and its marker were applied, so these stay per-object refusals.
    let c = 0;
    for (let i = 0; i < counts.length; i++) {
      const message = errorsIn(exec.slice(c, c + counts[i]!))[0];
      if (message !== undefined) failures.push({ object: i, message });
      c += counts[i]!;
    }
    return failures;
  }

  async applied(marker: string): Promise<boolean> {
    await this.connect();
    const [r] = await this.#request(encodeCommand(["EXISTS", marker]), 1);
    if (r instanceof RedisReplyError) {
      // LOADING, NOAUTH...: unknown yet; the caller retries as while Redis is down.
      throw new StoreUnavailableError(
        `Redis at ${this.label} cannot tell whether a spooled batch was applied: ${r.message}`,
      );
    }
    return r === 1;
  }

  /** Closes the connection (waits at most 1 s for Redis to close its side). Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#conn?.close(1000);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
