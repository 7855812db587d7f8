/**
 * A worker died (an uncaught error, an exit, a heap cap, a message that
 * could not be read) while calls were in flight. {@linkcode WorkerClient}
 * rejects those calls with it and hands it to `onCrash`; `reason` is what
 * the worker died of, without the worker's name, for logs and policies
 * (`reason` mentions "memory limit" when a `node:worker_threads` heap cap
 * stopped it).
 *
 * @example
 * ```ts
 * try {
 *   await client.call("scan", args);
 * } catch (err) {
 *   if (err instanceof WorkerCrashedError) log.error("worker crashed", { error: err.reason });
 * }
 * ```
 */
export class WorkerCrashedError extends Error {
  override name = "WorkerCrashedError";
  constructor(
    /** The worker's name, as in `WorkerClientOptions.name` (`"Search worker"`). */
    readonly worker: string,
    /** What the worker died of (`"Uncaught Error: boom"`, `"it exited with code 1"`). */
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`${worker} crashed: ${reason}`, options);
  }
}
