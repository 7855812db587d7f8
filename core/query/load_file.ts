/**
 * Reads one data file as its spec says: CSV (keyed by a column name or
 * index, or a list of rows), JSON, or a reader module, with an optional
 * per-row transform module. Pure loading: the caller decides when to call it
 * and what to keep when it fails.
 */
import { pathToFileURL } from "node:url";
import { readCsvRows } from "./_csv_rows.ts";
import type { DataFileSpec } from "./spec.ts";
import { errorText } from "../log/mod.ts";

/** A per-row transform: returns the row to keep, or `undefined`/`null` to drop it. */
export type RowTransform = (row: unknown, key: string | number) => unknown;
/** A reader module's default export. */
export type DataReader = (text: string, path: string) => unknown;

async function importDefault<T>(path: string, what: string): Promise<T> {
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(path).href);
  } catch (err) {
    throw new Error(
      `Cannot load ${what} module "${path}": ${errorText(err)}`,
      { cause: err },
    );
  }
  if (typeof mod.default !== "function") {
    throw new TypeError(`The ${what} module "${path}" has no default export function`);
  }
  return mod.default as T;
}

function keyString(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v) ?? String(v);
}

/** Applies the transform to every row of a list or object, keeping keys. */
function transformAll(data: unknown, transform: RowTransform): unknown {
  if (Array.isArray(data)) {
    const out: unknown[] = [];
    data.forEach((row, i) => {
      const r = transform(row, i);
      if (r !== undefined && r !== null) out.push(r);
    });
    return out;
  }
  if (typeof data === "object" && data !== null) {
    const out: Record<string, unknown> = Object.create(null);
    for (const [k, row] of Object.entries(data)) {
      const r = transform(row, k);
      if (r !== undefined && r !== null) out[k] = r;
    }
    return out;
  }
  return transform(data, "");
}

/** How a row of this file is named in a message: "data row 3" (CSV), "item 2" (JSON, module). */
function rowName(spec: DataFileSpec, i: number): string {
  return spec.format === "csv" ? `data row ${i + 1}` : `item ${i}`;
}

/**
 * Keys rows by `spec.key` or `spec.keyIndex`, the same for every format. As
 * in the replaced tool, the key refers to the transformed row, so a transform
 * can build the key column; one that leaves the column out is keyed by the
 * row as read. The transform gets that key, or the row's 0-based index when
 * only the transform makes the column.
 */
function keyRows(
  data: unknown,
  spec: DataFileSpec,
  transform: RowTransform | undefined,
  columns?: readonly string[],
): unknown {
  if (spec.key === undefined && spec.keyIndex === undefined) {
    return transform ? transformAll(data, transform) : data;
  }
  const by = spec.key !== undefined ? `"${spec.key}"` : `index ${spec.keyIndex}`;
  if (!Array.isArray(data)) {
    throw new TypeError(
      `Cannot key "${spec.path}" by ${by}: expected a list of objects, got ${typeof data}`,
    );
  }
  const field = spec.format === "csv" ? "column" : "field";
  // With a header, an index names the header's column (an object's own key order puts
  // integer-like names such as "2024" first)
  const named = spec.key ?? (spec.keyIndex !== undefined ? columns?.[spec.keyIndex] : undefined);
  const cellOf = (row: unknown): unknown =>
    typeof row !== "object" || row === null
      ? undefined
      : named !== undefined && !Array.isArray(row)
      ? (row as Record<string, unknown>)[named]
      : spec.key !== undefined
      ? (row as Record<string, unknown>)[spec.key]
      : Array.isArray(row)
      ? row[spec.keyIndex!]
      : Object.values(row as Record<string, unknown>)[spec.keyIndex!];
  const missing = (i: number, where: string) =>
    new TypeError(
      `Cannot key "${spec.path}": ${rowName(spec, i)} has no ${field} ${by}${where}`,
    );
  const out: Record<string, unknown> = Object.create(null);
  data.forEach((row, i) => {
    const raw = cellOf(row);
    if (!transform) {
      if (raw === undefined) throw missing(i, "");
      out[keyString(raw)] = row;
      return;
    }
    const kept = transform(row, raw === undefined ? i : keyString(raw));
    if (kept === undefined || kept === null) return;
    const made = cellOf(kept);
    const cell = made === undefined ? raw : made;
    if (cell === undefined) throw missing(i, ", before or after the transform");
    out[keyString(cell)] = kept;
  });
  return out;
}

function readCsv(text: string, spec: DataFileSpec, transform: RowTransform | undefined): unknown {
  const { rows, columns } = readCsvRows(text, spec);
  // Without a transform a missing column is named with the columns there are.
  if (!transform && spec.key !== undefined && columns && rows.length > 0) {
    if (!columns.includes(spec.key)) {
      throw new SyntaxError(
        `Cannot key CSV "${spec.path}" by column "${spec.key}": no such column (columns: ${
          columns.join(", ")
        })`,
      );
    }
  }
  return keyRows(rows, spec, transform, columns);
}

const strict = new TextDecoder("utf-8", { fatal: true });
const lenient = new TextDecoder();

/**
 * The text of a CSV or JSON data file, which must be UTF-8 (as the replaced
 * tool's reader required): decoding it leniently would key rows by U+FFFD
 * and no query would ever match them.
 */
function utf8(bytes: Uint8Array, path: string): string {
  try {
    return strict.decode(bytes);
  } catch {
    const text = lenient.decode(bytes);
    const line = text.slice(0, text.indexOf("\uFFFD")).split("\n").length;
    throw new SyntaxError(
      `Cannot read "${path}": not valid UTF-8 (line ${line}); save it as UTF-8 (for example: iconv -f latin1 -t utf-8)`,
    );
  }
}

/**
 * Loads one data file. Throws an error naming the file (and line, for CSV)
 * when it cannot be read or parsed.
 *
 * @example
 * ```ts
 * const people = await loadDataFile(spec.files[0]!); // { "1": { id: "1", name: "Ada" }, ... }
 * ```
 */
export async function loadDataFile(spec: DataFileSpec): Promise<unknown> {
  const bytes = await Deno.readFile(spec.path);
  // A reader module gets the text as best it decodes (it has the path to read bytes itself).
  const text = spec.format === "module" ? lenient.decode(bytes) : utf8(bytes, spec.path);
  const transform = spec.transform
    ? await importDefault<RowTransform>(spec.transform, "transform")
    : undefined;
  switch (spec.format) {
    case "csv":
      return readCsv(text, spec, transform);
    case "json": {
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch (err) {
        throw new SyntaxError(
          `Cannot parse JSON "${spec.path}": ${errorText(err)}`,
          { cause: err },
        );
      }
      return keyRows(data, spec, transform);
    }
    case "module": {
      const reader = await importDefault<DataReader>(spec.reader!, "reader");
      return keyRows(await reader(text, spec.path), spec, transform);
    }
  }
}
