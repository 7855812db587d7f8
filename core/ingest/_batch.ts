import type { Logger } from "../log/mod.ts";
import { RespBuffer } from "./_resp_buffer.ts";
import type { Atomicity, ObjectFailure, StoreBatch } from "./_store.ts";

/** What became of a run of one owner's objects in one batch. */
export interface Settlement {
  /** Objects now in Redis or, when `spooled`, in the disk spool (they reach Redis when it returns). */
  stored: number;
  /** Objects Redis refused. */
  failed: number;
  /** Why Redis refused the first of them; `undefined` when none failed. */
  reason: string | undefined;
  /** Whether `stored` went to the disk spool instead of Redis. */
  spooled: boolean;
}

/** Who is told what became of the objects it added (a client session). */
export interface WriteOwner {
  /** Called once per batch for this owner's objects in it, in the order they were added. */
  settled(outcome: Settlement): void;
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
        this.owners[i]!.settled({ stored: n - failed, failed, reason, spooled });
      } catch (err) {
        log.error("write owner callback failed", { error: String(err) });
      }
    }
  }
}
