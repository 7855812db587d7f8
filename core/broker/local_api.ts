import {
  type Connection,
  listenLocal,
  type LocalServer,
  LocalSocketInUseError,
} from "../net/mod.ts";
import { type Logger, nullLogger } from "../log/mod.ts";
import type { Frame, Header, MsgHeader } from "./frame.ts";
import { Link } from "./link.ts";
import type { Sink } from "./options.ts";
import type { FileResult, SendFileOptions } from "./api.ts";
import type { Router } from "./router.ts";
import { type AdminTarget, runAdmin } from "./_admin.ts";
import { AppListens, type Detached } from "./_app_listens.ts";
import { copyBytes } from "./_copy.ts";

/** Options for {@linkcode LocalApi.start}. */
export interface LocalApiOptions {
  /** Frame size cap, bytes. */
  maxFrameBytes: number;
  logger?: Logger;
}

/** What the local API serves: the router, and the connector operations apps may ask for. */
export interface LocalApiTarget {
  readonly router: Router;
  /** The operator's operations behind the `admin` frames. */
  readonly admin: AdminTarget;
  /** Resolves once journals and queues are on disk. */
  sync(): Promise<void>;
  sendFile(dst: string, type: string, path: string, options?: SendFileOptions): Promise<FileResult>;
  /** Asks the process running the connector to stop. */
  requestStop(): void;
}

/**
 * The local API: a Unix socket (mode 0600) in the connector's state
 * directory speaking the broker frames, so apps in other processes (any
 * language) send, request, listen (and stop listening) and send files through their
 * connector.
 * See `docs/broker-protocol.md`.
 */
export class LocalApi implements AsyncDisposable {
  readonly #server: LocalServer;

  private constructor(server: LocalServer) {
    this.#server = server;
  }

  /** Path of the socket file. */
  get path(): string {
    return this.#server.path;
  }

  /** Listens on `path` (replacing a stale socket file; refusing when a live connector holds it). */
  static async start(
    path: string,
    connector: LocalApiTarget,
    opts: LocalApiOptions,
  ): Promise<LocalApi> {
    const log = opts.logger ?? nullLogger;
    try {
      const server = await listenLocal(
        { path, mode: 0o600, logger: log },
        (conn, signal) => serveApp(conn, signal, connector, opts, log),
      );
      return new LocalApi(server);
    } catch (err) {
      if (err instanceof LocalSocketInUseError) {
        throw new Error(
          `Cannot open the local API socket "${path}": another connector is running with this state directory (stop it, or pick another --dir)`,
          { cause: err },
        );
      }
      // listenLocal names the path itself: give the system's reason once.
      const e = err as Error;
      const why = e.cause instanceof Error ? e.cause.message : e.message;
      throw new Error(`Cannot open the local API socket "${path}": ${why}`, { cause: err });
    }
  }

  /** Stops accepting, closes app connections, removes the socket file. Idempotent. */
  close(): Promise<void> {
    return this.#server.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Serves one app connection: broker frames in and out until it closes or the connector closes. */
async function serveApp(
  conn: Connection,
  signal: AbortSignal,
  c: LocalApiTarget,
  opts: LocalApiOptions,
  log: Logger,
): Promise<void> {
  const listens = new AppListens(c.router, log);
  const confirms = new Confirmations();
  const link: Link = new Link(conn, {
    maxFrameBytes: opts.maxFrameBytes,
    heartbeatMs: 0,
    onFrame: (frame) => {
      try {
        handle(c, link, frame, { listens, confirms }, log);
      } catch (err) {
        const id = (frame.header as { id?: string }).id;
        link.send(errorFrame((err as Error).message, id));
      }
    },
    onClose: (reason) => {
      listens.close();
      confirms.closed();
      // An app that sends what is not a broker frame is cut off; the operator learns why.
      if (reason.startsWith("protocol error")) {
        log.warn("local API app cut off", { reason });
      }
    },
  });
  const onAbort = () => link.close("connector closing");
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  try {
    await link.closed;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/** What one app connection holds: its listens, its unconfirmed messages. */
interface AppState {
  listens: AppListens;
  confirms: Confirmations;
}

function handle(
  c: LocalApiTarget,
  link: Link,
  frame: Frame,
  { listens, confirms }: AppState,
  log: Logger,
): void {
  const h = frame.header;
  switch (h.kind) {
    case "msg":
      return send(c, link, h, frame);
    case "delivered":
      confirms.confirm(h.n);
      return;
    case "listen": {
      checkTypes("Listen", h.types, h.tag);
      const tag = h.tag;
      const sink: Sink = h.confirm === true
        ? {
          confirms: true,
          deliver: (mh, _d, _b, payload, taken) => {
            confirms.add(taken, sink, mh.type);
            return link.writer.writePayload(payload) && !confirms.full;
          },
          drained: () => Promise.all([link.writer.drained(), confirms.room()]).then(() => {}),
          tag,
        }
        : {
          deliver: (_h, _d, _b, payload) => link.writer.writePayload(payload),
          drained: () => link.writer.drained(),
          tag,
        };
      listens.add(h.types, tag, sink);
      if (h.id !== undefined) link.send({ kind: "result", replyTo: h.id, ok: true });
      return;
    }
    case "unlisten": {
      checkTypes("Unlisten", h.types, h.tag);
      // detached first, so that what goes back to a queue goes to the next listener, not this one
      confirms.giveBack(listens.remove(h.types, h.tag));
      if (h.id !== undefined) link.send({ kind: "result", replyTo: h.id, ok: true });
      return;
    }
    case "subscribe":
      c.router.subscribe(h.types, { unsubscribe: h.unsubscribe === true }).then(
        () => link.send({ kind: "result", replyTo: h.id, ok: true }),
        (err) => link.send(errorFrame(err.message, h.id)),
      );
      return;
    case "sync":
      c.sync().then(
        () => link.send({ kind: "result", replyTo: h.id, ok: true }),
        (err) => link.send(errorFrame(err.message, h.id)),
      );
      return;
    case "sendFile":
      c.sendFile(h.dst, h.type, h.path, {
        ...(typeof h.name === "string" ? { name: h.name } : {}),
        ...(h.delete === true ? { delete: true } : {}),
      }).then(
        (value) => link.send({ kind: "result", replyTo: h.id, ok: true, value }),
        (err) => link.send(errorFrame(err.message, h.id)),
      );
      return;
    case "admin":
      runAdmin(c.admin, h.op, h.args ?? {}).then(
        (value) => {
          link.send({ kind: "result", replyTo: h.id, ok: true, value });
          if (h.op === "stop") {
            link.writer.flush();
            log.info("stop requested through the local socket");
            c.requestStop();
          }
        },
        (err) => link.send(errorFrame(err.message, h.id)),
      );
      return;
    default:
      link.send(errorFrame(`Unexpected frame kind "${h.kind}" on the local socket`));
  }
}

/** Checks the `types` and `tag` of a `listen` or `unlisten` frame (`what`). */
function checkTypes(what: string, types: unknown, tag: unknown): void {
  if (!Array.isArray(types) || types.some((t) => typeof t !== "string")) {
    throw new TypeError(`${what} needs "types": an array of message type strings`);
  }
  if (tag !== undefined && typeof tag !== "string") {
    throw new TypeError(`${what} "tag" must be a string`);
  }
}

function send(target: LocalApiTarget, link: Link, h0: MsgHeader, frame: Frame): void {
  const c = target.router;
  const h: MsgHeader = { ...h0, src: c.name, id: h0.id ?? c.newId() };
  if (h.redelivered !== undefined) delete h.redelivered; // the delivering connector's to say
  if (typeof h.type !== "string" || h.type === "") throw new TypeError('Missing message "type"');
  const data = copyBytes(frame.data);
  const binary = copyBytes(frame.binary);
  const id = h.id;
  let r: boolean | Promise<void>;
  if (h.timeout !== undefined && h.timeout > 0) {
    c.expect(id, c.resolve(h.dst), h.type, h.timeout, {
      resolve: (_h, _d, _b, payload) => link.writer.writePayload(payload),
      reject: (err) => link.send(errorFrame(err.message, id)),
    });
    try {
      r = c.sendHeader(h, data, binary);
    } catch (err) {
      c.unexpect(id);
      throw err;
    }
  } else if (h.ack) {
    r = c.sendHeader(h, data, binary, (err) => {
      link.send(err ? errorFrame(err.message, id) : { kind: "result", replyTo: id, ok: true });
    });
  } else {
    r = c.sendHeader(h, data, binary);
  }
  if (r !== true) {
    link.hold(r.catch((err) => void link.send(errorFrame(err.message, id))));
  }
}

/**
 * Messages the confirming listens of one app connection were handed and its
 * app has not confirmed yet, in order, each with the sink and type it came by.
 */
class Confirmations {
  static readonly MAX = 10_000;
  readonly #taken: Array<(ok: boolean) => void> = [];
  readonly #sinks: Array<Sink | undefined> = [];
  readonly #types: string[] = [];
  #head = 0;
  #confirmed = 0;
  #delivered = 0;
  #roomWaiters: Array<() => void> = [];

  get full(): boolean {
    return this.#taken.length - this.#head >= Confirmations.MAX;
  }

  add(taken: (ok: boolean) => void, sink: Sink, type: string): void {
    this.#taken.push(taken);
    this.#sinks.push(sink);
    this.#types.push(type);
    this.#delivered++;
  }

  /** The app confirmed the first `n` messages it got on this connection. */
  confirm(n: number): void {
    if (typeof n !== "number") return;
    n = Math.min(n, this.#delivered);
    while (this.#confirmed < n && this.#head < this.#taken.length) {
      this.#confirmed++;
      const f = this.#taken[this.#head]!;
      this.#taken[this.#head] = noop;
      this.#sinks[this.#head++] = undefined;
      f(true);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#taken.length) {
      this.#taken.splice(0, this.#head);
      this.#sinks.splice(0, this.#head);
      this.#types.splice(0, this.#head);
      this.#head = 0;
    }
    if (!this.full && this.#roomWaiters.length > 0) {
      for (const w of this.#roomWaiters.splice(0)) w();
    }
  }

  room(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((r) => this.#roomWaiters.push(r));
  }

  /**
   * The app stopped listening: what it did not confirm of the detached
   * sinks and types goes back to its queue, in order. Their places stay, so
   * the app's later `delivered` counts still line up (confirming them then
   * does nothing).
   */
  giveBack(detached: Detached): void {
    if (detached.size === 0) return;
    for (let i = this.#head; i < this.#taken.length; i++) {
      const sink = this.#sinks[i];
      if (sink === undefined || !detached.get(sink)?.has(this.#types[i]!)) continue;
      const f = this.#taken[i]!;
      this.#taken[i] = noop;
      this.#sinks[i] = undefined;
      f(false);
    }
  }

  /** The app went away: what it did not confirm goes back to its queue. */
  closed(): void {
    for (let i = this.#head; i < this.#taken.length; i++) this.#taken[i]!(false);
    this.#taken.length = 0;
    this.#sinks.length = 0;
    this.#types.length = 0;
    this.#head = 0;
    for (const w of this.#roomWaiters.splice(0)) w();
  }
}

const noop = () => {};

function errorFrame(message: string, replyTo?: string): Header {
  return replyTo === undefined ? { kind: "error", message } : { kind: "error", message, replyTo };
}
