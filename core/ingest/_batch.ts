import type { Logger } from "../log/mod.ts";
import { RespBuffer } from "./resp_buffer.ts";
import type { Atomicity, ObjectFailure, StoreBatch } from "./store.ts";

/** Who is told what became of the objects it added (a client session). */
export interface WriteOwner {
  /**
   * `stored` objects are in Redis or, when `spooled`, in the disk spool (they
   * reach Redis when it returns); `failed` were refused by Redis (`reason`).
   */
  settled(stored: number, failed: number, reason: string | undefined, spooled: boolean): void;
}

/** One batch of objects on its way to Redis or the spool, with who added them. */
export class Batch {
  /** RESP of the objects' commands. */
  buf = new RespBuffer();
  /** Command count of each object. */
  counts: number[] = [];
  /** Runs of owners: `owners[i]` added `counts[i]` objects in a row. */
  owners: WriteOwner[] = [];
  runs: number[] = [];
  objects = 0;
  marker: string | undefined;
  /** Sent to Redis with an unknown outcome. */
  uncertain = false;
  state: "pending" | "ok" | "lost" = "pending";
  failures: ObjectFailure[] = [];

  constructor(readonly atomic: Atomicity) {}

  toStore(): StoreBatch {
    return {
      wire: this.buf.bytes(),
      counts: this.counts,
      atomic: this.atomic,
      ...(this.marker !== undefined ? { marker: this.marker } : {}),
    };
  }

  /**
   * Tells each owner what became of its objects: stored (in the spool when
   * `spooled`) or refused, by object index in `failedByObject`.
   */
  tellOwners(failedByObject: Map<number, string>, spooled: boolean, log: Logger): void {
    let obj = 0;
    for (let i = 0; i < this.owners.length; i++) {
      const n = this.runs[i]!;
      let failed = 0;
      let reason: string | undefined;
      if (failedByObject.size > 0) {
        for (let j = obj; j < obj + n; j++) {
          const r = failedByObject.get(j);
          if (r !== undefined) {
            failed++;
            reason ??= r;
          }
        }
      }
      obj += n;
      try {
        this.owners[i]!.settled(n - failed, failed, reason, spooled);
      } catch (err) {
        log.error("write owner callback failed", { error: String(err) });
      }
    }
  }
}
