import type { Command } from "./layout.ts";

/** A batch of commands written to Redis as one unit. */
export interface StoreBatch {
  /** The commands, in order. */
  commands: Command[];
  /**
   * A marker key written in the same transaction (`SET marker 1 EX 86400`),
   * so a replay after an uncertain outcome can tell whether the batch was
   * applied. Only the stream layout uses it (XADD is not idempotent).
   */
  marker?: string;
}

/** A command of a batch that Redis refused (`WRONGTYPE`, ...); retrying will not help. */
export interface CommandFailure {
  /** Index of the command in the batch. */
  index: number;
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
   * Writes a batch; resolves with the commands Redis refused, or throws
   * {@linkcode StoreUnavailableError} when Redis cannot be reached.
   */
  write(batch: StoreBatch): Promise<CommandFailure[]>;
  /** Whether a batch's marker key exists (the batch was applied). */
  applied(marker: string): Promise<boolean>;
  /** Closes the connection(s). Idempotent. */
  close(): Promise<void>;
}

/** The marker's lifetime in seconds: long enough for any outage to be replayed. */
export const MARKER_TTL_SECONDS = 86400;
