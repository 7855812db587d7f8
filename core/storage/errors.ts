/**
 * A record log cannot take a record: its size cap is reached, or the disk is
 * full (`ENOSPC`). The record was not stored; nothing already stored was dropped.
 */
export class StorageFullError extends Error {
  override name = "StorageFullError";
  constructor(
    message: string,
    /** `"cap"`: the configured size cap; `"disk"`: the file system has no space left. */
    readonly reason: "cap" | "disk",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Whether `err` is the operating system's "no space left on device". */
export function isNoSpace(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  return e?.code === "ENOSPC" || /os error 28\b/.test(String(e?.message));
}
