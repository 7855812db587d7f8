import { StoreUnavailableError } from "./_store.ts";

/**
 * Error codes with which Redis refuses a write because of its own state, not
 * because of the command or key: each refusal lasts until an operator (or a
 * failover, a load, a script) changes that state, so the write is to be
 * spooled and retried like one whose connection was lost. The value says
 * what to do.
 */
const SERVER_STATE: Readonly<Record<string, string>> = {
  READONLY: "it is a read-only replica now (a failover?): point --redis at the primary, " +
    "or promote it with REPLICAOF NO ONE",
  MASTERDOWN: "it is a replica that lost its primary: point --redis at the primary",
  OOM: "it reached maxmemory: free memory or raise maxmemory (CONFIG SET maxmemory)",
  MISCONF: "it cannot save to disk (stop-writes-on-bgsave-error): fix its disk or persistence",
  LOADING: "it is loading its dataset: wait until it has loaded",
  BUSY: "a script or function runs too long: wait, or stop it (SCRIPT KILL / FUNCTION KILL)",
  TRYAGAIN: "the cluster is moving the key's slot: wait",
  CLUSTERDOWN: "the cluster is down: bring its nodes back",
  NOAUTH: "it requires a password: put it in the Redis URL (redis://:PASSWORD@HOST:PORT)",
  NOPERM: "the user lacks a permission: grant the ingest's Redis user write access (ACL SETUSER)",
};

/** What to do about an error reply, when it is a server-state refusal; else `undefined`. */
export function serverStateHint(message: string): string | undefined {
  const space = message.indexOf(" ");
  return SERVER_STATE[space < 0 ? message : message.slice(0, space)];
}

/**
 * The first server-state refusal among error `messages`, as the
 * {@linkcode StoreUnavailableError} that sends its batch to the spool, or
 * `undefined` when there is none (the errors are about the objects).
 */
export function refusalOutage(
  label: string,
  messages: string[],
): StoreUnavailableError | undefined {
  for (const m of messages) {
    const hint = serverStateHint(m);
    if (hint !== undefined) {
      return new StoreUnavailableError(`Redis at ${label} refuses writes: ${m} (${hint})`);
    }
  }
  return undefined;
}
