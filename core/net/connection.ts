import type { Socket } from "node:net";
import type { PeerIdentity } from "./peer.ts";
import { watchIdle } from "./_idle_sweeper.ts";

/** What a service gives {@linkcode Connection.receive}: bytes in, then EOF. */
export interface Receiver {
  /** Called for each received chunk (valid only during the call unless copied). */
  data(chunk: Uint8Array): void;
  /** Called once when the peer half-closes (EOF). Default: end our side too. */
  end?(): void;
}

/** The connection policy, set by the listener (or `connect`). */
export interface ConnectionPolicy {
  /**
   * Close the connection after this many ms without progress in either
   * direction (no byte received, no byte of ours taken by the peer) while it
   * is not paused by us. A pause while our output waits for the peer to read
   * does not count as ours. 0 = never. Default 0.
   */
  idleTimeoutMs?: number;
  /**
   * Unsent output above this many bytes (the peer stopped reading) closes the
   * connection at once, so one peer cannot make us hold unbounded memory.
   * Default 64 MiB.
   */
  maxUnsentBytes?: number;
  /** Keep our side open after the peer half-closes (one-shot queries). Default `false`. */
  allowHalfOpen?: boolean;
}

type TcpHandle = {
  reading?: boolean;
  readStop?: () => unknown;
  readStart?: () => unknown;
  getBytesWritten?: () => number;
};

const handleOf = (s: Socket) => (s as unknown as { _handle?: TcpHandle | null })._handle;

/** How long `end()` waits for the peer to take the last bytes and close while it still makes progress. */
const END_IDLE_MS = 10_000;

/**
 * One live connection: the only network seam. Bytes in through
 * {@linkcode Connection.receive} (or {@linkcode Connection.readable}) with
 * {@linkcode Connection.pause}/`resume()` that really stop reading, writes
 * that honour drain, `end()` that delivers everything written, and the
 * connection policy (idle timeout, unsent-bytes cap). No service touches the
 * socket under it.
 *
 * When a TLS socket wraps a TCP `transport`, pausing acts on the transport's
 * handle: in Deno 2.9 pausing a `node:tls` socket itself does not stop
 * reading from the network (decrypted bytes keep piling up in memory), while
 * `readStop()` on the TCP handle under it does. A paused TLS connection may
 * still deliver the few records already decrypted; receivers must tolerate
 * that.
 */
export class Connection implements AsyncDisposable {
  /** Who is connected. */
  readonly peer: PeerIdentity;
  /** Resolves once the connection has fully closed. */
  readonly closed: Promise<void>;
  readonly #socket: Socket;
  readonly #transport: Socket;
  readonly #maxUnsent: number;
  #idleMs: number;
  #drainWaiters: Array<() => void> = [];
  #paused = false;
  #receiving = false;
  #receiver: Receiver | undefined;
  #error: string | undefined;
  #bytesIn = 0;
  #bytesSent = 0;
  #closeReason: string | undefined;
  #unwatch: (() => void) | undefined;
  #ending: Promise<void> | undefined;

  /** @internal Made by `listen`, `connect` and `memoryPair`. */
  constructor(
    socket: Socket,
    peer: PeerIdentity,
    transport?: Socket,
    policy: ConnectionPolicy = {},
  ) {
    this.#socket = socket;
    this.peer = peer;
    this.#transport = transport ?? socket;
    this.#maxUnsent = policy.maxUnsentBytes ?? 64 * 1024 * 1024;
    this.#idleMs = policy.idleTimeoutMs ?? 0;
    if (policy.allowHalfOpen) (socket as { allowHalfOpen: boolean }).allowHalfOpen = true;
    // One listener per event, plain `on` (each `once` costs a wrapper per connection).
    this.closed = new Promise((resolve) => {
      if (socket.destroyed) resolve();
      else {
        socket.on("close", () => {
          this.#wakeWriters();
          this.#unwatch?.();
          resolve();
        });
      }
    });
    socket.on("drain", () => this.#wakeWriters());
    socket.on("error", (err: Error) => void (this.#error ??= err.message));
    if (this.#idleMs > 0) this.#watch(this.#idleMs);
  }

  #watch(ms: number): void {
    this.#unwatch?.();
    this.#unwatch = watchIdle(this, ms);
  }

  /** @internal Progress so far (bytes in + bytes the network took), for the idle sweeper. */
  progress(): number {
    const h = handleOf(this.#transport);
    const out = h?.getBytesWritten
      ? h.getBytesWritten()
      : this.#bytesSent - this.#socket.writableLength;
    return this.#bytesIn + out;
  }

  /** Bytes read from the network so far (TCP, TLS records included; for metrics). */
  get bytesRead(): number {
    return this.#transport.bytesRead ?? 0;
  }

  /** Bytes written to the network so far (TCP, TLS records included; for metrics). */
  get bytesWritten(): number {
    return this.#transport.bytesWritten ?? 0;
  }

  /**
   * @internal Whether reading is held on purpose (not the peer's fault). A
   * pause while our output waits for the peer is the peer's doing (it stopped
   * reading), so it does not spare the connection from the idle timeout.
   */
  get heldByUs(): boolean {
    return this.#paused && this.#ending === undefined && this.#socket.writableLength === 0;
  }

  /** @internal Called by the idle sweeper. */
  timedOut(ms: number): void {
    this.destroy(`no progress for ${ms} ms (idle timeout)`);
  }

  /** Why the connection was closed by us (idle timeout, cap), if it was. */
  get closeReason(): string | undefined {
    return this.#closeReason;
  }

  /** Sets or changes the idle timeout (0 = off). */
  setIdleTimeout(ms: number): void {
    this.#idleMs = ms;
    if (ms > 0) this.#watch(ms);
    else this.#unwatch?.();
  }

  #wakeWriters(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
  }

  /** The first socket error seen (reset, broken pipe), if any. */
  get error(): string | undefined {
    return this.#error;
  }

  /** Whether the connection has closed. */
  get isClosed(): boolean {
    return this.#socket.destroyed;
  }

  /**
   * Delivers received bytes to `receiver` from now on (a later call replaces
   * it) and starts reading unless paused. EOF calls `receiver.end` (default:
   * end our side too).
   */
  receive(receiver: Receiver): void {
    this.#receiver = receiver;
    if (!this.#receiving) {
      this.#receiving = true;
      const s = this.#socket;
      s.on("data", (chunk: Uint8Array) => {
        this.#bytesIn += chunk.length;
        this.#receiver?.data(chunk);
      });
      s.once("end", () => {
        const r = this.#receiver;
        if (r?.end) r.end();
        else void this.end();
      });
    }
    if (!this.#paused) this.resume();
  }

  /** Stops reading from the network until {@linkcode Connection.resume}. */
  pause(): void {
    this.#paused = true;
    if (this.#transport === this.#socket) {
      this.#socket.pause();
      return;
    }
    readStop(this.#transport);
    // Stop delivering what is already decrypted, without the TLS socket's own
    // pause (which keeps reading the network in Deno 2.9).
    (this.#socket as unknown as { readableFlowing: boolean | null }).readableFlowing = false;
  }

  /** Resumes reading from the network. */
  resume(): void {
    this.#paused = false;
    if (this.#transport !== this.#socket) readStart(this.#transport);
    this.#socket.resume();
  }

  /** Whether reading is paused. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Whether the connection can still be written to. */
  get writable(): boolean {
    return !this.#socket.destroyed && this.#socket.writable;
  }

  /**
   * Bytes the network has taken so far (TCP, TLS records included): what was
   * written to the TCP socket less what still waits in its buffer. Unlike
   * {@linkcode Connection.bytesWritten}, it does not grow while the peer reads nothing.
   */
  get bytesTaken(): number {
    return (this.#transport.bytesWritten ?? 0) - (this.#transport.writableLength ?? 0);
  }

  /** Bytes written but not yet taken by the network. */
  get unsent(): number {
    return this.#socket.writableLength;
  }

  /** The output high water mark, bytes. */
  get highWaterMark(): number {
    return this.#socket.writableHighWaterMark;
  }

  /** Whether unsent output is over the high water mark (wait on {@linkcode Connection.drained}). */
  get congested(): boolean {
    return this.#socket.writableLength >= this.#socket.writableHighWaterMark;
  }

  /**
   * Queues `data` and returns whether the output is still below its high
   * water mark. Output over the connection's unsent-bytes cap destroys it.
   * Does nothing when the connection is closed.
   */
  send(data: Uint8Array | string): boolean {
    if (!this.writable) return false;
    this.#bytesSent += data.length;
    const ok = this.#socket.write(data);
    if (!ok && this.#socket.writableLength > this.#maxUnsent) {
      this.destroy(
        `peer does not read: ${this.#socket.writableLength} bytes unsent exceed the ${this.#maxUnsent} byte cap`,
      );
      return false;
    }
    return ok;
  }

  /** Queues several chunks as one write (corked). Returns like {@linkcode Connection.send}. */
  sendAll(chunks: readonly Uint8Array[]): boolean {
    if (chunks.length === 1) return this.send(chunks[0]!);
    this.#socket.cork();
    let ok = true;
    for (const c of chunks) ok = this.send(c);
    this.#socket.uncork();
    return ok;
  }

  /** Resolves once output is below the high water mark again (or the connection closed). */
  drained(): Promise<void> {
    if (!this.congested || this.#socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /**
   * Queues `data` and resolves when output is below its high water mark
   * again (immediately when it already is). Resolves without writing when
   * the connection is closed.
   */
  write(data: Uint8Array | string): Promise<void> {
    if (this.send(data)) return Promise.resolve();
    return this.drained();
  }

  /**
   * Writes `data` (if given) and half-closes; the peer sees EOF after
   * everything written. Reading resumes so the peer's EOF is seen (the
   * receiver, if any, still gets what arrives; without one it is dropped). The connection is destroyed only when nothing moves in either
   * direction for `idleMs` (default 10 s; a peer that stopped reading or never closes):
   * a slow reader still gets every byte. Resolves once closed; afterwards
   * {@linkcode Connection.delivered} says whether everything went out.
   */
  end(data?: Uint8Array | string, idleMs = END_IDLE_MS): Promise<void> {
    this.#ending ??= (async () => {
      if (this.#socket.destroyed) return;
      if (data !== undefined) {
        this.#bytesSent += data.length;
        this.#socket.end(data);
      } else this.#socket.end();
      // Keep reading so the peer's EOF is seen; without a receiver, input is dropped.
      if (this.#receiver === undefined) this.receive({ data: () => {}, end: () => {} });
      this.resume();
      if (this.#idleMs === 0 || this.#idleMs > idleMs) this.#watch(idleMs);
      await this.closed;
    })();
    return this.#ending;
  }

  /** After close: whether everything written was handed to the network before it closed. */
  get delivered(): boolean {
    return this.#closeReason === undefined && this.#socket.writableFinished;
  }

  /** Closes now, discarding anything unsent; `reason` is kept in {@linkcode Connection.closeReason}. Idempotent. */
  destroy(reason?: string): void {
    if (this.#socket.destroyed) return;
    if (reason !== undefined) this.#closeReason ??= reason;
    this.#socket.destroy();
    if (this.#transport !== this.#socket) this.#transport.destroy();
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
    this.receive({
      data: (chunk) => {
        queue.push(chunk);
        if (queue.length > 1) this.pause();
        notify();
      },
      end: () => {
        done = true;
        notify();
      },
    });
    void this.closed.then(() => {
      done = true;
      notify();
    });
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
  }

  /** Closes gracefully (`end`); `idleMs` as in {@linkcode Connection.end}. */
  close(idleMs?: number): Promise<void> {
    return this.end(undefined, idleMs);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Stops reads on the TCP handle under a TLS socket. `net.Socket.pause()` does
 * not reliably do it there: in Deno 2.9 the TLS layer owns the handle and a
 * later `resume()` of the TCP socket does not restart it.
 */
function readStop(transport: Socket): void {
  const h = handleOf(transport);
  if (h?.readStop) {
    h.reading = false;
    h.readStop();
  } else {
    transport.pause();
  }
}

/** Restarts reads on the TCP handle under a TLS socket. */
function readStart(transport: Socket): void {
  const h = handleOf(transport);
  if (h?.readStart) {
    h.reading = true;
    h.readStart();
  } else {
    transport.resume();
  }
}
