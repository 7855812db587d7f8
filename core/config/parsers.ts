/**
 * Value parsers for configuration: each takes the raw value (string from a
 * flag or the environment, or a typed value from a file) and returns the typed
 * value or throws a `TypeError` whose message says what was expected.
 */

/** Converts a raw configuration value to `T`, or throws `TypeError("expected ...")`. */
export type Parser<T> = (raw: unknown) => T;

function describe(raw: unknown): string {
  return typeof raw === "string" ? JSON.stringify(raw) : String(raw);
}

/** Any non-empty string. */
export const string: Parser<string> = (raw) => {
  if (typeof raw === "number") return String(raw);
  if (typeof raw !== "string" || raw === "") {
    throw new TypeError(`expected a non-empty string, got ${describe(raw)}`);
  }
  return raw;
};

/** An integer within `[min, max]`. */
export function integer(
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
): Parser<number> {
  return (raw) => {
    const n = typeof raw === "number"
      ? raw
      : typeof raw === "string" && /^-?\d+$/.test(raw.trim())
      ? Number(raw)
      : NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new TypeError(`expected an integer from ${min} to ${max}, got ${describe(raw)}`);
    }
    return n;
  };
}

/** A TCP/UDP port, 0 (any free port) to 65535. */
export const port: Parser<number> = (raw) => {
  try {
    return integer(0, 65535)(raw);
  } catch {
    throw new TypeError(`expected a port number from 0 to 65535, got ${describe(raw)}`);
  }
};

/** `true/false/1/0/yes/no/on/off` in any case, or a boolean. */
export const boolean: Parser<boolean> = (raw) => {
  if (typeof raw === "boolean") return raw;
  const s = String(raw).trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(s)) return true;
  if (["false", "0", "no", "off"].includes(s)) return false;
  throw new TypeError(`expected true or false, got ${describe(raw)}`);
};

/** One of the given strings. */
export function oneOf<const T extends string>(choices: readonly T[]): Parser<T> {
  return (raw) => {
    if (typeof raw === "string" && (choices as readonly string[]).includes(raw)) return raw as T;
    throw new TypeError(`expected one of ${choices.join(", ")}, got ${describe(raw)}`);
  };
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** A byte size: `1048576`, `512k`, `1MiB`, `2G` (binary units). */
export const bytes: Parser<number> = (raw) => {
  if (typeof raw === "number" && Number.isInteger(raw) && raw >= 0) return raw;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(String(raw));
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new TypeError(
      `expected a byte size such as 1048576, 512KiB or 1MiB, got ${describe(raw)}`,
    );
  }
  return Math.floor(Number(m[1]) * unit);
};

/**
 * A byte size above zero, for caps that refuse everything at 0 (the largest
 * object, frame, line or request; a journal's size).
 */
export const positiveBytes: Parser<number> = (raw) => {
  const n = bytes(raw);
  if (!(n > 0)) {
    throw new TypeError(
      `expected a byte size above zero such as 1048576, 512KiB or 1MiB, got ${describe(raw)}`,
    );
  }
  return n;
};

const TIME_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration in milliseconds: `250ms`, `1.5s`, `2m`; a bare number is seconds. */
export const duration: Parser<number> = (raw) => {
  if (typeof raw === "number" && raw >= 0) return raw * 1000;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(String(raw));
  if (!m) throw new TypeError(`expected a duration such as 500ms, 1s or 2m, got ${describe(raw)}`);
  return Number(m[1]) * TIME_UNITS[m[2] ?? "s"]!;
};

/**
 * `HOST:PORT` (`[::1]:443` for IPv6) as `{ host, port }`. With
 * `defaultPort`, a bare `HOST` is accepted too.
 */
export function hostPort(defaultPort?: number): Parser<{ host: string; port: number }> {
  return (raw) => {
    const v = string(raw);
    const m = /^(.+):(\d+)$/.exec(v);
    const host = (m ? m[1]! : v).replace(/^\[(.*)\]$/, "$1");
    if (
      !host || (!m && defaultPort === undefined) || (!m && v.includes(":") && !v.startsWith("["))
    ) {
      throw new TypeError(`expected HOST:PORT, got ${describe(raw)}`);
    }
    return { host, port: m ? port(m[2]) : defaultPort! };
  };
}

/** A duration above zero, in milliseconds (`10`, `1.5s`, `500ms`; a bare number is seconds). */
export const positiveDuration: Parser<number> = (raw) => {
  const ms = duration(raw);
  if (!(ms > 0)) throw new TypeError("expected a duration above zero such as 10, 1.5s or 500ms");
  return ms;
};

/** A comma-separated list (or an array in a file) of values parsed by `item`. */
export function list<T>(item: Parser<T>): Parser<T[]> {
  return (raw) => {
    const parts = Array.isArray(raw)
      ? raw
      : String(raw).split(",").map((s) => s.trim()).filter((s) => s !== "");
    return parts.map(item);
  };
}
