/** Options for {@linkcode RecordLog.open}. */
export interface RecordLogOptions {
  /** What the log holds, for errors and reports (e.g. `journal for peer "alice"`). */
  name: string;
  /** Size cap of the unconsumed records, bytes; appends past it throw. Default 1 GiB. */
  maxBytes?: number;
  /** Segment file size before rotating, bytes. Default min(64 MiB, max(64 KiB, maxBytes / 4)). */
  segmentBytes?: number;
  /**
   * `fdatasync` each group commit before resolving its appends. Default `true`.
   * `false`: each commit is written synchronously into the page cache (it survives a
   * crash of the process, not of the machine).
   */
  fsync?: boolean;
  /** Told about each damaged record skipped and each torn tail cut when opening. Default: nobody. */
  onDamage?: (damage: LogDamage) => void;
}

/** A damaged stretch found when opening a log. */
export interface LogDamage {
  /** `"corrupt"`: a damaged record between intact ones was skipped; `"torn"`: the tail was cut. */
  kind: "corrupt" | "torn";
  /** The segment file. */
  file: string;
  /** Byte offset of the damage in the file. */
  offset: number;
  /** Bytes skipped or cut. */
  bytes: number;
  /** What was wrong. */
  reason: string;
  /** Intact records kept in this segment. */
  kept: number;
}

/** A read position in a log (opaque to callers; start from {@linkcode RecordLog.start}). */
export interface LogCursor {
  readonly segment: number;
  readonly offset: number;
}
