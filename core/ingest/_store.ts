/**
 * How a batch is applied. `object`: each object's commands together (an
 * object with several commands is wrapped in `MULTI`/`EXEC`; one command is
 * atomic by itself) and objects in order, pipelined. `batch`: the whole batch
 * in one `MULTI`/`EXEC`, with its marker (stream layout, exactly-once replay).
 */
export type Atomicity = "object" | "batch";

/** A batch of objects' commands written to Redis as one pipelined unit. */
export interface StoreBatch {
  /**
   * The objects' commands, RESP-encoded back to back; with `atomic:
   * "object"`, an object with several commands is already wrapped in
   * `MULTI`/`EXEC`.
   */
  wire: Uint8Array;
  /** Each object's command count (without `MULTI`/`EXEC`), in order. */
  counts: number[];
  /** See {@linkcode Atomicity}. */
  atomic: Atomicity;
  /**
   * A marker key written in the same transaction (`SET marker 1 EX 86400`),
   * so a replay after an uncertain outcome can tell whether the batch was
   * applied (XADD is not idempotent). Only with `atomic: "batch"`.
   */
  marker?: string;
}

/** An object of a batch whose write Redis refused (`WRONGTYPE`, ...); retrying will not help. */
export interface ObjectFailure {
  /** Index of the object in the batch. */
  object: number;
  /** Redis's error message. */
  message: string;
}

/**
 * Redis could not be reached or the connection failed while a batch was in
 * flight. The batch may or may not have been applied (see `StoreBatch.marker`).
 */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Where batches go: one Redis server or a Redis Cluster. */
export interface BatchStore extends AsyncDisposable {
  /** A label for logs (`redis://127.0.0.1:6379/0`). */
  readonly label: string;
  /** Whether the store is connected right now. */
  readonly connected: boolean;
  /** Connects (or checks the connection); throws {@linkcode StoreUnavailableError}. */
  connect(): Promise<void>;
  /**
   * Writes a batch; resolves with the objects Redis refused, or throws
   * {@linkcode StoreUnavailableError} when Redis cannot be reached.
   */
  write(batch: StoreBatch): Promise<ObjectFailure[]>;
  /** Whether a batch's marker key exists (the batch was applied). */
  applied(marker: string): Promise<boolean>;
  /** Closes the connection(s). Idempotent. */
  close(): Promise<void>;
}

/** The marker's lifetime in seconds: long enough for any outage to be replayed. */
export const MARKER_TTL_SECONDS = 86400;
