/**
 * CSV text to rows as the replaced tool's Python readers made them: lists of
 * strings without a header (`csv.reader`), objects with one (`csv.DictReader`),
 * from a file opened in text mode (line ends read as `\n`, in quoted fields too).
 */
import { parse as parseCsv } from "csv-parse/sync";
import type { DataFileSpec } from "./spec.ts";
import { errorText } from "../log/mod.ts";

/**
 * The key under which a row with more fields than the header keeps the extra
 * values, as a list: Python's `DictReader` put them under `None`, which
 * `json.dumps` writes as `"null"`.
 */
export const EXTRA_FIELDS_KEY = "null";

/** A CSV file's rows, and its column names when it has a header row. */
export interface CsvRows {
  /** Objects keyed by column name with a header row, else lists of strings. */
  rows: unknown[];
  /** The header row's names, in order (absent without a header). */
  columns?: string[];
}

/**
 * Parses CSV text as `spec` says. With a header, a short row's missing fields
 * are `null` and a long row's extra values are kept under
 * {@linkcode EXTRA_FIELDS_KEY}; a later column of the same name wins. Empty
 * lines are skipped. Throws a `SyntaxError` naming the file (and the line,
 * for text that is not CSV).
 *
 * @example
 * ```ts
 * readCsvRows("id,name\n1\n2,Ada,x\n", spec).rows;
 * // [{ id: "1", name: null }, { id: "2", name: "Ada", null: ["x"] }]
 * ```
 */
export function readCsvRows(
  text: string,
  spec: Pick<DataFileSpec, "path" | "header" | "delimiter">,
): CsvRows {
  let records: string[][];
  try {
    // Python opened the file in text mode, which reads \r\n and \r as \n.
    records = parseCsv(text.replace(/\r\n?/g, "\n"), {
      delimiter: spec.delimiter,
      bom: true,
      skip_empty_lines: true,
      trim: false,
      relax_column_count: true,
    }) as string[][];
  } catch (err) {
    throw new SyntaxError(
      `Cannot parse CSV "${spec.path}": ${errorText(err)}`,
      { cause: err },
    );
  }
  if (!spec.header) return { rows: records };
  const [columns = [], ...data] = records;
  const rows = data.map((fields, i) => {
    const row: Record<string, unknown> = Object.fromEntries(
      columns.map((name, j) => [name, fields[j] ?? null]),
    );
    if (fields.length > columns.length) {
      if (Object.hasOwn(row, EXTRA_FIELDS_KEY)) {
        throw new SyntaxError(
          `Cannot read CSV "${spec.path}": data row ${
            i + 1
          } has ${fields.length} fields for ${columns.length} columns, and the extra values' key "${EXTRA_FIELDS_KEY}" is a column name (rename that column)`,
        );
      }
      row[EXTRA_FIELDS_KEY] = fields.slice(columns.length);
    }
    return row;
  });
  return { rows, columns };
}
