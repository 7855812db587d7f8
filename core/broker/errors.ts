/** A peer's outbound journal has reached its size cap (`--persist-max`); the send was refused. */
export class JournalFullError extends Error {
  override name = "JournalFullError";
  constructor(
    /** The peer the message was for. */
    readonly peer: string,
    /** The configured cap, bytes. */
    readonly limit: number,
  ) {
    super(
      `Journal for peer "${peer}" is full: ${limit} byte limit (--persist-max) reached; ` +
        `the message was not queued (wait for the peer to reconnect, or raise --persist-max)`,
    );
  }
}

/** A request got no response in time. */
export class RequestTimeoutError extends Error {
  override name = "RequestTimeoutError";
  constructor(id: string, peer: string, type: string, timeoutMs: number) {
    super(
      `Request "${id}" to peer "${peer}" (type "${type}") timed out after ${timeoutMs} ms: no response`,
    );
  }
}

/** The broker (local or remote connector) refused an operation; the message says why. */
export class BrokerError extends Error {
  override name = "BrokerError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}
