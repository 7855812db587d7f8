/**
 * The messages between a {@linkcode WorkerClient} and {@linkcode serveWorker}.
 * One discriminant, `kind`, everywhere.
 */

/** Main thread → worker: run `method(arg)`; `id` is absent for a call that wants no reply. */
export interface CallMessage {
  kind: "call";
  id?: number;
  method: string;
  arg: unknown;
}

/** A failure, as it crosses the thread boundary. */
export interface WireError {
  /** The error's `name` (`"StoreUnavailableError"`), for the client to revive its class. */
  name: string;
  message: string;
  /** The error's own fields that clone (`path`, `problem`), to rebuild it with. */
  details?: Record<string, unknown>;
}

/** Worker → main thread: the outcome of call `id`. */
export type ReplyMessage =
  | { kind: "reply"; id: number; ok: true; value: unknown }
  | { kind: "reply"; id: number; ok: false; error: WireError };

/** Worker → main thread, unasked: progress, a late failure, "ready". */
export interface EventMessage {
  kind: "event";
  name: string;
  data: unknown;
}

/** What a worker sends. */
export type WorkerMessage = ReplyMessage | EventMessage;

/** The methods a worker serves: each takes one structured-cloneable argument. */
// deno-lint-ignore no-explicit-any
export type Methods = Record<string, (arg: any) => unknown>;

/** A method's result with the buffers to move (not copy) to the main thread. */
export class Transfer<T> {
  constructor(readonly value: T, readonly transfer: Transferable[]) {}
}
