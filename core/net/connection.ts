import type { Socket } from "node:net";
import type { PeerIdentity } from "./peer.ts";

/**
 * One live connection: the node socket, the peer's identity, and writes that
 * honour the socket's drain signal. Reading is left to the service, which
 * uses `socket.on("data")` with {@linkcode Connection.pause}/`resume()` (or
 * {@linkcode Connection.readable}) so that a slow consumer stops TCP reads
 * instead of growing memory.
 *
 * When the TLS socket wraps a TCP `transport`, pausing acts on the
 * transport: in Deno 2.9 pausing a `node:tls` socket itself does not stop
 * reading from the network (decrypted bytes keep piling up in memory), while
 * pausing the TCP socket under it does. `socket.pause()`/`resume()`/
 * `isPaused()` are redirected the same way, so code that holds the socket
 * gets working backpressure too. A paused TLS connection may still deliver
 * the few records already decrypted; consumers must tolerate that.
 */
export class Connection implements AsyncDisposable {
  /** The underlying socket (`tls.TLSSocket` or `net.Socket`). */
  readonly socket: Socket;
  /** Who is connected. */
  readonly peer: PeerIdentity;
  /** Resolves once the socket has fully closed. */
  readonly closed: Promise<void>;
  #drainWaiters: Array<() => void> = [];

  /** The TCP socket under a wrapping TLS socket; otherwise `socket` itself. */
  readonly transport: Socket;
  #paused = false;

  constructor(socket: Socket, peer: PeerIdentity, transport?: Socket) {
    this.socket = socket;
    this.peer = peer;
    this.transport = transport ?? socket;
    if (transport && transport !== socket) {
      const resume = socket.resume.bind(socket);
      socket.pause = () => (this.pause(), socket);
      socket.resume = () => {
        this.#paused = false;
        readStart(this.transport);
        return resume();
      };
      socket.isPaused = () => this.#paused;
    }
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

  /** Stops reading from the network until {@linkcode Connection.resume}. */
  pause(): void {
    this.#paused = true;
    if (this.transport === this.socket) {
      this.socket.pause();
      return;
    }
    readStop(this.transport);
    // Stop delivering what is already decrypted, without the TLS socket's own
    // pause (which keeps reading the network in Deno 2.9).
    (this.socket as unknown as { readableFlowing: boolean | null }).readableFlowing = false;
  }

  /** Resumes reading from the network. */
  resume(): void {
    if (this.transport === this.socket) {
      this.#paused = false;
      this.socket.resume();
    } else {
      this.socket.resume(); // redirected in the constructor
    }
  }

  /** Whether reading is paused. */
  get paused(): boolean {
    return this.#paused;
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
    this.resume();
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
   * An async iterable of received chunks with backpressure: reading is
   * paused while the consumer is busy and more than one chunk is waiting.
   */
  async *readable(): AsyncGenerator<Uint8Array> {
    const queue: Uint8Array[] = [];
    let done = false;
    let wake: (() => void) | undefined;
    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const onData = (chunk: Uint8Array) => {
      queue.push(chunk);
      if (queue.length > 1) this.pause();
      notify();
    };
    const onEnd = () => {
      done = true;
      notify();
    };
    this.socket.on("data", onData);
    this.socket.once("end", onEnd);
    this.socket.once("close", onEnd);
    try {
      while (true) {
        const chunk = queue.shift();
        if (chunk !== undefined) {
          if (queue.length === 0 && this.#paused) this.resume();
          yield chunk;
          continue;
        }
        if (done) return;
        await new Promise<void>((resolve) => wake = resolve);
      }
    } finally {
      this.socket.off("data", onData);
      this.socket.off("end", onEnd);
      this.socket.off("close", onEnd);
    }
  }

  /** Closes gracefully (`end`), falling back to `destroy` after `graceMs` (default 2000). */
  close(graceMs = 2000): Promise<void> {
    return this.end(undefined, graceMs);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

type TcpHandle = { reading?: boolean; readStop?: () => unknown; readStart?: () => unknown };

/**
 * Stops reads on the TCP handle under a TLS socket. `net.Socket.pause()` does
 * not reliably do it there: in Deno 2.9 the TLS layer owns the handle and a
 * later `resume()` of the TCP socket does not restart it.
 */
function readStop(transport: Socket): void {
  const h = (transport as unknown as { _handle?: TcpHandle })._handle;
  if (h?.readStop) {
    h.reading = false;
    h.readStop();
  } else {
    transport.pause();
  }
}

/** Restarts reads on the TCP handle under a TLS socket. */
function readStart(transport: Socket): void {
  const h = (transport as unknown as { _handle?: TcpHandle })._handle;
  if (h?.readStart) {
    h.reading = true;
    h.readStart();
  } else {
    transport.resume();
  }
}
