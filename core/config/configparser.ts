/**
 * A reader for the INI form Python's `configparser.ConfigParser` reads (the
 * `config.ini` of replaced Python tools): `=` or `:` between key and value
 * (the first of either), `#`/`;` comment lines, keys lowercased, values
 * stripped, indented continuation lines, `[DEFAULT]`, `%(key)s` and `%%`
 * interpolation. Unlike `npm:ini`, a `#` or `;` inside a value is part of it.
 */
import type { ConfigData } from "./file.ts";

/** Options of {@linkcode parseConfigParser}. */
export interface ConfigParserOptions {
  /**
   * Whether `#` or `;` after whitespace ends a value (configparser's
   * `inline_comment_prefixes=("#", ";")`). Default `false`, configparser's
   * default: the comment stays in the value. `#`/`;` not after whitespace is
   * kept either way.
   */
  inlineComments?: boolean;
}

/** A configparser-style parse failure with its 1-based line; the caller adds the file. */
export class ConfigParserError extends SyntaxError {
  override name = "ConfigParserError";
  constructor(readonly line: number, readonly detail: string) {
    super(`line ${line}: ${detail}`);
  }
}

const SECTION = /^\[(.+)\]/;
const OPTION = /^(.*?)\s*([=:])\s*(.*)$/s;

function inlineCommentStart(line: string): number | undefined {
  for (let i = 1; i < line.length; i++) {
    if ((line[i] === "#" || line[i] === ";") && /\s/.test(line[i - 1]!)) return i;
  }
  return undefined;
}

/**
 * Parses configparser INI text: top-level keys (before any section, which
 * configparser refuses) at the top, each section (`DEFAULT` included, names
 * kept as written) as an object of strings. Where configparser would refuse a
 * file sockkit is lenient: a bare line without `=`/`:` is ignored, a repeated
 * key or section adds to / overrides the earlier one. An unclosed `[section`
 * or a `= value` without a key is a {@linkcode ConfigParserError} naming the
 * line. A leading BOM is skipped; `\r\n` and `\r` end lines.
 *
 * @example
 * ```ts
 * parseConfigParser("[DEFAULT]\nlinuxpath: /srv/w#1.txt\n"); // { DEFAULT: { linuxpath: "/srv/w#1.txt" } }
 * ```
 */
export function parseConfigParser(text: string, options: ConfigParserOptions = {}): ConfigData {
  const raw: Map<string, Map<string, string[]>> = new Map([["", new Map()]]);
  let section = raw.get("")!;
  let option: string[] | undefined;
  let indent = 0;
  const lines = text.replace(/^\uFEFF/, "").split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    let cut: number | undefined = options.inlineComments ? inlineCommentStart(line) : undefined;
    const trimmed = line.trim();
    if (trimmed.startsWith("#") || trimmed.startsWith(";")) cut = 0;
    const value = line.slice(0, cut).trim();
    if (value === "") {
      // configparser keeps a blank line inside a multi-line value (trailing ones are trimmed).
      if (cut === undefined && option) option.push("");
      continue;
    }
    const level = line.search(/\S/);
    if (option && level > indent) {
      option.push(value);
      continue;
    }
    indent = level;
    const header = SECTION.exec(value);
    if (header) {
      const name = header[1]!;
      if (!raw.has(name)) raw.set(name, new Map());
      section = raw.get(name)!;
      option = undefined;
      continue;
    }
    const m = OPTION.exec(value);
    if (!m) {
      if (value.startsWith("[")) {
        throw new ConfigParserError(i + 1, 'unclosed section header (end it with "]")');
      }
      option = undefined; // a bare line: configparser refuses it, sockkit ignores it
      continue;
    }
    const key = m[1]!.trimEnd().toLowerCase();
    if (key === "") throw new ConfigParserError(i + 1, `a value without a key: "${value}"`);
    option = [m[3]!.trim()];
    section.set(key, option);
  }
  const joined = new Map<string, Map<string, string>>();
  for (const [name, entries] of raw) {
    joined.set(
      name,
      new Map([...entries].map(([k, v]) => [k, v.join("\n").trimEnd()])),
    );
  }
  const defaults = new Map([...joined.get("")!, ...(joined.get("DEFAULT") ?? [])]);
  const out: ConfigData = {};
  for (const [name, entries] of joined) {
    const scope = new Map([...defaults, ...entries]);
    const values: Record<string, string> = {};
    for (const [k, v] of entries) values[k] = interpolate(v, scope, 1);
    if (name === "") Object.assign(out, values);
    else out[name] = values;
  }
  return out;
}

/**
 * configparser's BasicInterpolation: `%%` is `%`, `%(key)s` the value of
 * `key` in the same section or `[DEFAULT]`. A `%` configparser would refuse
 * (or an unknown key, or nesting deeper than 10) is kept as written.
 */
function interpolate(value: string, scope: Map<string, string>, depth: number): string {
  if (!value.includes("%") || depth > 10) return value;
  return value.replace(/%%|%\(([^)]*)\)s/g, (all, name: string | undefined) => {
    if (name === undefined) return "%";
    const ref = scope.get(name.toLowerCase());
    return ref === undefined ? all : interpolate(ref, scope, depth + 1);
  });
}
