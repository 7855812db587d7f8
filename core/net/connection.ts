import type { Socket } from "node:net";
import type { PeerIdentity } from "./peer.ts";

/**
 * One live connection: the node socket, the peer's identity, and writes that
 * honour the socket's drain signal. Reading is left to the service, which
 * uses `socket.on("data")` and `socket.pause()`/`resume()` (or
 * {@linkcode Connection.readable}) so that a slow consumer stops TCP reads
 * instead of growing memory.
 */
export class Connection implements AsyncDisposable {
  /** The underlying socket (`tls.TLSSocket` or `net.Socket`). */
  readonly socket: Socket;
  /** Who is connected. */
  readonly peer: PeerIdentity;
  /** Resolves once the socket has fully closed. */
  readonly closed: Promise<void>;
  #drainWaiters: Array<() => void> = [];

  constructor(socket: Socket, peer: PeerIdentity) {
    this.socket = socket;
    this.peer = peer;
    this.closed = new Promise((resolve) => {
      if (socket.destroyed) resolve();
      else socket.once("close", () => resolve());
    });
    socket.on("drain", () => this.#wakeWriters());
    socket.once("close", () => this.#wakeWriters());
  }

  #wakeWriters(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
  }

  /** Whether the socket can still be written to. */
  get writable(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }

  /**
   * Queues `data` and resolves when the socket's buffer is below its high
   * water mark again (immediately when it already is). Resolves without
   * writing when the socket is closed.
   */
  write(data: Uint8Array | string): Promise<void> {
    if (!this.writable) return Promise.resolve();
    if (this.socket.write(data)) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /**
   * Writes `data` (if given) and half-closes; the peer sees EOF after it.
   * Unread input is drained so the socket can finish closing, and the socket
   * is destroyed if the peer has not closed its side within `graceMs`
   * (default 2000). Resolves once the socket has closed.
   */
  async end(data?: Uint8Array | string, graceMs = 2000): Promise<void> {
    if (this.socket.destroyed) return;
    if (data !== undefined) this.socket.end(data);
    else this.socket.end();
    this.socket.resume();
    const timer = setTimeout(() => this.destroy(), graceMs);
    try {
      await this.closed;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the socket now, discarding anything unsent. Idempotent. */
  destroy(): void {
    if (!this.socket.destroyed) this.socket.destroy();
  }

  /**
   * An async iterable of received chunks with backpressure: the socket is
   * paused while the consumer is busy with a chunk.
   */
  async *readable(): AsyncGenerator<Uint8Array> {
    for await (const chunk of this.socket) yield chunk as Uint8Array;
  }

  /** Closes gracefully (`end`), falling back to `destroy` after `graceMs` (default 2000). */
  close(graceMs = 2000): Promise<void> {
    return this.end(undefined, graceMs);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
