/**
 * A worker died (an uncaught error, an exit, a heap cap, a message that
 * could not be read) while calls were in flight. {@linkcode WorkerClient}
 * rejects those calls with it and hands it to `onCrash`; `reason` is what
 * the worker died of, without the worker's name, for logs; `cause` the
 * error it died of, when there is one; `code` is that error's
 * `node:worker_threads` code (`"ERR_WORKER_OUT_OF_MEMORY"` when its
 * heap cap stopped it).
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
  /** The `node:worker_threads` error code (`"ERR_WORKER_OUT_OF_MEMORY"`), if any. */
  readonly code: string | undefined;
  constructor(
    /** The worker's name, as in `WorkerClientOptions.name` (`"Search worker"`). */
    readonly worker: string,
    /** What the worker died of (`"Uncaught Error: boom"`, `"it exited with code 1"`). */
    readonly reason: string,
    /** `cause`: the error the worker died of, when there is one. */
    options: ErrorOptions = {},
  ) {
    super(`${worker} crashed: ${reason}`, options);
    const code = (options.cause as { code?: unknown } | undefined)?.code;
    this.code = typeof code === "string" ? code : undefined;
  }
}
