import { localConnection } from "../net/mod.ts";
import * as net from "node:net";
import { type Logger, nullLogger } from "../log/mod.ts";
import type { Frame, Header, MsgHeader } from "./frame.ts";
import { Link } from "./link.ts";
import type { Connector, Sink } from "./connector.ts";
import type { Subscription } from "./api.ts";

/** Options for {@linkcode LocalApi.start}. */
export interface LocalApiOptions {
  /** Frame size cap, bytes. */
  maxFrameBytes: number;
  logger?: Logger;
}

/** Admin operations the local socket accepts (`{"kind":"admin","op":...}`). */
export const ADMIN_OPS = [
  "status",
  "peers",
  "queues",
  "ping",
  "block",
  "unblock",
  "revoke",
  "stop",
] as const;

/**
 * The local API: a Unix socket (mode 0600) in the connector's state
 * directory speaking the broker frames, so apps in other processes (any
 * language) send, request, listen and send files through their connector.
 * See `docs/broker-protocol.md`.
 */
export class LocalApi {
  readonly path: string;
  readonly #server: net.Server;
  readonly #links = new Set<Link>();
  #closing: Promise<void> | undefined;

  private constructor(path: string, server: net.Server) {
    this.path = path;
    this.#server = server;
  }

  /** Listens on `path` (replacing a stale socket file; refusing when a live connector holds it). */
  static async start(path: string, connector: Connector, opts: LocalApiOptions): Promise<LocalApi> {
    const log = opts.logger ?? nullLogger;
    if (await isLive(path)) {
      throw new Error(
        `Cannot open the local API socket "${path}": another connector is running with this state directory (stop it, or pick another --dir)`,
      );
    }
    try {
      Deno.removeSync(path);
    } catch { /* not there */ }
    const server = net.createServer({ pauseOnConnect: false });
    const api = new LocalApi(path, server);
    server.on("connection", (socket: net.Socket) => api.#accept(socket, connector, opts, log));
    server.on("error", (err: Error) => log.error("local socket error", { error: err.message }));
    const oldMask = Deno.umask?.(0o077);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(path, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (err) {
      throw new Error(`Cannot open the local API socket "${path}": ${(err as Error).message}`, {
        cause: err,
      });
    } finally {
      if (oldMask !== undefined) Deno.umask(oldMask);
    }
    Deno.chmodSync(path, 0o600);
    return api;
  }

  #accept(socket: net.Socket, c: Connector, opts: LocalApiOptions, log: Logger): void {
    const subs: Subscription[] = [];
    const link: Link = new Link(localConnection(socket), {
      maxFrameBytes: opts.maxFrameBytes,
      heartbeatMs: 0,
      onFrame: (frame) => {
        try {
          this.#handle(c, link, frame, subs, log);
        } catch (err) {
          const id = (frame.header as { id?: string }).id;
          link.send(errorFrame((err as Error).message, id));
        }
      },
      onClose: () => {
        this.#links.delete(link);
        for (const s of subs) s.close();
      },
    });
    this.#links.add(link);
  }

  #handle(c: Connector, link: Link, frame: Frame, subs: Subscription[], log: Logger): void {
    const h = frame.header;
    switch (h.kind) {
      case "msg":
        return this.#send(c, link, h, frame);
      case "listen": {
        const sink: Sink = {
          deliver: (_h, _d, _b, payload) => link.writer.writePayload(payload),
          drained: () => link.writer.drained(),
        };
        subs.push(c.addSink(h.types, sink));
        if (h.id !== undefined) link.send({ kind: "result", replyTo: h.id, ok: true });
        return;
      }
      case "sync":
        c.sync().then(
          () => link.send({ kind: "result", replyTo: h.id, ok: true }),
          (err) => link.send(errorFrame(err.message, h.id)),
        );
        return;
      case "sendFile":
        c.sendFile(h.dst, h.type, h.path).then(
          (value) => link.send({ kind: "result", replyTo: h.id, ok: true, value }),
          (err) => link.send(errorFrame(err.message, h.id)),
        );
        return;
      case "admin":
        this.#admin(c, h.op, h.args ?? {}).then(
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

  #send(c: Connector, link: Link, h0: MsgHeader, frame: Frame): void {
    const h: MsgHeader = { ...h0, src: c.name, id: h0.id ?? c.newId() };
    if (typeof h.type !== "string" || h.type === "") throw new TypeError('Missing message "type"');
    const data = frame.data.slice();
    const binary = frame.binary.length ? frame.binary.slice() : frame.binary;
    const id = h.id;
    let r: boolean | Promise<void>;
    if (h.timeout !== undefined && h.timeout > 0) {
      c.expect(id, h.dst, h.type, h.timeout, {
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

  async #admin(c: Connector, op: string, args: Record<string, unknown>): Promise<unknown> {
    const peer = typeof args.peer === "string" ? args.peer : undefined;
    const need = () => {
      if (!peer) throw new TypeError(`Admin "${op}" needs args.peer`);
      return peer;
    };
    switch (op) {
      case "status":
        return c.status();
      case "peers":
        return c.peers();
      case "queues":
        await c.sync();
        return c.queueSizes();
      case "ping":
        return { peer: need(), ms: await c.ping(need()) };
      case "block":
        c.block(need());
        return { peer, blocked: true };
      case "unblock":
        c.unblock(need());
        return { peer, blocked: false };
      case "revoke":
        return { peer, disconnected: await c.revoke(need()) };
      case "stop":
        return { stopping: true };
    }
    throw new TypeError(`Unknown admin op "${op}": expected one of ${ADMIN_OPS.join(", ")}`);
  }

  /** Stops accepting, closes app connections, removes the socket file. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const closed = new Promise<void>((r) => this.#server.close(() => r()));
      for (const l of this.#links) l.close("connector closing");
      await Promise.allSettled([...this.#links].map((l) => l.closed));
      await closed;
      try {
        Deno.removeSync(this.path);
      } catch { /* gone */ }
    })();
    return this.#closing;
  }
}

function errorFrame(message: string, replyTo?: string): Header {
  return replyTo === undefined ? { kind: "error", message } : { kind: "error", message, replyTo };
}

function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
