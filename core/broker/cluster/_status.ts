import type { Status } from "nats";

/**
 * Stops one status iterator of a NATS connection (what `nc.status()`
 * returned), which ends the loop reading it: it is a `QueuedIterator`,
 * which closing the connection does not end. `undefined` (none started)
 * is a no-op.
 */
export function stopStatus(status: AsyncIterable<Status> | undefined): void {
  (status as { stop?: () => void } | undefined)?.stop?.();
}
