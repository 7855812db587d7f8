/** Leveled logger writing text or JSON lines to stderr or a file. */

/** Log levels from most to least verbose. */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
/** One of {@linkcode LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];
/** Output format of a log line. */
export type LogFormat = "text" | "json";
/** Structured fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/** Options for {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Lowest level written. Default `"info"`. */
  level?: LogLevel;
  /** `"text"` (`2026-11-25T13:00:00.000Z INFO  msg key=value`) or `"json"`. Default `"text"`. */
  format?: LogFormat;
  /** Append to this file instead of stderr. Default: stderr. */
  file?: string;
  /** Extra fields on every line (for example `{ svc: "ingest" }`). Default none. */
  fields?: LogFields;
  /** Receives each formatted line instead of stderr/file (tests, in-process capture). */
  sink?: (line: string) => void;
}

/** A leveled logger; {@linkcode Logger.child} adds fields. */
export interface Logger {
  /** The lowest level written (shared by a logger, its parent and its children). */
  readonly level: LogLevel;
  /** Changes the level at run time, for this logger and every logger it shares a root with. */
  setLevel(level: LogLevel): void;
  enabled(level: LogLevel): boolean;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
  /** Closes the log file, if any (children share it). Later lines are dropped. */
  close(): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };
const encoder = new TextEncoder();

function formatValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  if (typeof v === "string") return /^[\w.:/@+-]+$/.test(v) ? v : JSON.stringify(v);
  if (v === undefined) return "undefined";
  return JSON.stringify(v) ?? String(v);
}

function toJsonable(v: unknown): unknown {
  return v instanceof Error ? v.message : v;
}

/**
 * Creates a logger. Library code receives a logger through its options and
 * never writes to the console itself.
 *
 * @example
 * ```ts
 * const log = createLogger({ level: "debug", format: "json" });
 * log.info("listening", { port: 1191 });
 * ```
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  const format = options.format ?? "text";
  let write: (line: string) => void;
  let close = () => {};
  if (options.sink) {
    write = options.sink;
  } else if (options.file) {
    let file: Deno.FsFile | undefined = Deno.openSync(options.file, { append: true, create: true });
    write = (line) => file?.writeSync(encoder.encode(line + "\n"));
    close = () => {
      file?.close();
      file = undefined;
    };
  } else {
    write = (line) => {
      try {
        Deno.stderr.writeSync(encoder.encode(line + "\n"));
      } catch {
        // stderr closed: nothing sensible left to do with a log line.
      }
    };
  }
  return makeLogger({ level }, format, options.fields ?? {}, write, close);
}

function makeLogger(
  shared: { level: LogLevel; fixed?: boolean },
  format: LogFormat,
  base: LogFields,
  write: (line: string) => void,
  close: () => void,
): Logger {
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (RANK[lvl] < RANK[shared.level]) return;
    const time = new Date().toISOString();
    const all = { ...base, ...fields };
    if (format === "json") {
      const obj: Record<string, unknown> = { time, level: lvl, msg };
      for (const [k, v] of Object.entries(all)) obj[k] = toJsonable(v);
      write(JSON.stringify(obj));
    } else {
      let line = `${time} ${lvl.toUpperCase().padEnd(5)} ${msg}`;
      for (const [k, v] of Object.entries(all)) line += ` ${k}=${formatValue(v)}`;
      write(line);
    }
  };
  return {
    get level() {
      return shared.level;
    },
    setLevel: (lvl) => {
      if (!shared.fixed) shared.level = lvl;
    },
    enabled: (lvl) => RANK[lvl] >= RANK[shared.level],
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => makeLogger(shared, format, { ...base, ...fields }, write, close),
    close,
  };
}

/** A logger that discards everything (the default for library code). */
export const nullLogger: Logger = makeLogger(
  { level: "silent", fixed: true },
  "text",
  {},
  () => {},
  () => {},
);
