/**
 * The data spec: which files the handler gets and how to read each.
 *
 * A JSON or TOML file with a `files` list. Each entry:
 *
 * | field       | meaning                                                                  |
 * | ----------- | ------------------------------------------------------------------------ |
 * | `path`      | the data file, relative to the spec file (required)                      |
 * | `format`    | `"csv"`, `"json"` or `"module"`; default from the extension, or `"module"` with `reader` |
 * | `name`      | the key in the handler's `data`; default the base name without extension |
 * | `key`       | key rows by this column (CSV with a header row; JSON arrays of objects)  |
 * | `keyIndex`  | key rows by this 0-based column index (CSV)                              |
 * | `header`    | CSV: the first line names the columns; default `true`, except `false` with `keyIndex` |
 * | `delimiter` | CSV field delimiter; default `","`                                       |
 * | `reader`    | `format = "module"`: module whose default export `(text, path)` returns the data |
 * | `transform` | module whose default export `(row, key)` returns the row to keep (`undefined` drops it); rows are keyed after it |
 *
 * Keyed data is an object `{ key: row }` (a later duplicate key wins);
 * unkeyed CSV is an array of rows. Rows are arrays of strings, of any length,
 * without a header row, and objects with one, as Python's `csv.DictReader`
 * makes them: a short row's missing fields are `null`, a long row's extra
 * values a list under the key `"null"`.
 */
import { basename, dirname, extname, resolve } from "node:path";
import { parse as parseToml } from "smol-toml";
import { ConfigError } from "../config/mod.ts";

/** How a data file is read. */
export const DataFormat = { csv: "csv", json: "json", module: "module" } as const;
/** One of {@linkcode DataFormat}'s values. */
export type DataFormat = typeof DataFormat[keyof typeof DataFormat];

/** One data file, resolved (absolute paths, defaults filled in). */
export interface DataFileSpec {
  /** Absolute path of the data file. */
  path: string;
  /** Key under which the handler finds this file's data. */
  name: string;
  /** How to read it. */
  format: DataFormat;
  /** Column name to key rows by. */
  key?: string;
  /** Column index to key rows by. */
  keyIndex?: number;
  /** CSV: whether the first line names the columns. */
  header: boolean;
  /** CSV delimiter. */
  delimiter: string;
  /** Absolute path of the reader module (`format: "module"`). */
  reader?: string;
  /** Absolute path of the per-row transform module. */
  transform?: string;
}

/** A resolved data spec. */
export interface DataSpec {
  /** The spec file it came from (for messages), or `"(inline)"`. */
  source: string;
  /** The files, in spec order. */
  files: DataFileSpec[];
}

const FIELDS = new Set([
  "path",
  "format",
  "name",
  "key",
  "keyIndex",
  "header",
  "delimiter",
  "reader",
  "transform",
]);

/**
 * Validates a parsed spec value and resolves its paths against `baseDir`.
 * Throws a {@linkcode ConfigError} naming the entry and field at fault.
 */
export function parseDataSpec(value: unknown, baseDir: string, source = "(inline)"): DataSpec {
  const fail = (msg: string): never => {
    throw new ConfigError(`Invalid data spec "${source}": ${msg}`);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail('expected an object with a "files" list');
  }
  const list = (value as Record<string, unknown>).files;
  if (!Array.isArray(list) || list.length === 0) {
    fail('expected a non-empty "files" list (e.g. {"files":[{"path":"people.csv","key":"id"}]})');
  }
  const files: DataFileSpec[] = [];
  const names = new Set<string>();
  (list as unknown[]).forEach((raw, i) => {
    const at = `files[${i}]`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      fail(`${at}: expected an object with at least "path"`);
    }
    const e = raw as Record<string, unknown>;
    for (const k of Object.keys(e)) {
      if (!FIELDS.has(k)) fail(`${at}: unknown field "${k}" (known: ${[...FIELDS].join(", ")})`);
    }
    const str = (k: string): string | undefined => {
      const v = e[k];
      if (v === undefined) return undefined;
      if (typeof v !== "string" || v === "") fail(`${at}.${k}: expected a non-empty string`);
      return v as string;
    };
    const path = str("path") ?? fail(`${at}: "path" is required`);
    const reader = str("reader");
    const transform = str("transform");
    const ext = extname(path).toLowerCase();
    const format = str("format") ??
      (reader
        ? "module"
        : ext === ".csv" || ext === ".tsv"
        ? "csv"
        : ext === ".json"
        ? "json"
        : fail(
          `${at}.format: cannot tell the format of "${path}" from its extension (set "csv", "json" or "module")`,
        ));
    if (!(format in DataFormat)) {
      fail(`${at}.format: expected csv, json or module, got "${format}"`);
    }
    if (format === "module" && !reader) fail(`${at}: format "module" needs a "reader" module`);
    if (format !== "module" && reader) fail(`${at}: "reader" is only used with format "module"`);
    const key = str("key");
    let keyIndex: number | undefined;
    if (e.keyIndex !== undefined) {
      if (typeof e.keyIndex !== "number" || !Number.isInteger(e.keyIndex) || e.keyIndex < 0) {
        fail(`${at}.keyIndex: expected a column index 0 or more`);
      }
      keyIndex = e.keyIndex as number;
    }
    if (key !== undefined && keyIndex !== undefined) {
      fail(`${at}: give "key" or "keyIndex", not both`);
    }
    if (keyIndex !== undefined && format !== "csv") fail(`${at}.keyIndex: only for CSV files`);
    if (e.header !== undefined && typeof e.header !== "boolean") {
      fail(`${at}.header: expected true or false`);
    }
    const header = (e.header as boolean | undefined) ?? keyIndex === undefined;
    if (format === "csv" && key !== undefined && !header) {
      fail(
        `${at}: "key" names a column, which needs a header row (use "keyIndex" or header = true)`,
      );
    }
    const delimiter = str("delimiter") ?? (ext === ".tsv" ? "\t" : ",");
    const name = str("name") ?? basename(path, extname(path));
    if (names.has(name)) fail(`${at}: name "${name}" is used twice (set "name" on one of them)`);
    names.add(name);
    const f: DataFileSpec = {
      path: resolve(baseDir, path),
      name,
      format: format as DataFormat,
      header,
      delimiter,
    };
    if (key !== undefined) f.key = key;
    if (keyIndex !== undefined) f.keyIndex = keyIndex;
    if (reader !== undefined) f.reader = resolve(baseDir, reader);
    if (transform !== undefined) f.transform = resolve(baseDir, transform);
    files.push(f);
  });
  return { source, files };
}

/**
 * Reads a data spec file (`.toml` as TOML, anything else as JSON) and
 * resolves its paths against the spec file's directory.
 *
 * @example
 * ```ts
 * const spec = await loadDataSpec("fixtures/query/spec.json");
 * spec.files[0]!.name; // "people"
 * ```
 */
export async function loadDataSpec(path: string): Promise<DataSpec> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound ? "file not found" : String(err);
    throw new ConfigError(`Cannot read data spec "${path}": ${why}`, { cause: err });
  }
  let value: unknown;
  try {
    value = extname(path).toLowerCase() === ".toml" ? parseToml(text) : JSON.parse(text);
  } catch (err) {
    const detail = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new ConfigError(`Cannot parse data spec "${path}": ${detail}`, { cause: err });
  }
  return parseDataSpec(value, dirname(resolve(path)), path);
}
