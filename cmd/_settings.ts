/**
 * One declaration per setting: a table of {@linkcode SettingSpec}s (flag,
 * help, environment variable, config key, default, parser) becomes the
 * command's options with {@linkcode withSettings}, and its typed settings
 * with {@linkcode settingsOf}, so a setting is never spelled twice.
 *
 * @example
 * ```ts
 * const SPECS = {
 *   port: { parse: parse.port, flag: "--port", arg: "<port>", help: "port to listen on",
 *           env: "SOCKKIT_X_PORT", file: "port", default: 3443 },
 * } as const;
 * withSettings(new Command("serve"), SPECS).action((_o, cmd) => {
 *   const s = settingsOf(SPECS, cmd, {}); // s.port: number
 * });
 * ```
 */
import { type Command, Option } from "@commander-js/extra-typings";
import {
  fileKeys,
  resolveSettings,
  type SettingSources,
  type SettingSpec,
} from "../core/config/mod.ts";

type Specs = Record<string, SettingSpec<unknown>>;

/** The `(default …; env …; config …)` tail of a setting's help line. */
export function settingHelp(spec: SettingSpec<unknown>): string {
  const parts: string[] = [];
  const def = spec.defaultHelp ??
    (spec.default === undefined || spec.arg === undefined || typeof spec.default === "object"
      ? undefined
      : String(spec.default));
  if (spec.repeatable) parts.push("repeatable");
  if (def !== undefined) parts.push(`default ${def}`);
  if (spec.env) parts.push(`env ${spec.env}`);
  const keys = fileKeys(spec);
  if (keys.length > 0) parts.push(`config ${keys.join(" or ")}`);
  const help = spec.help ?? "";
  return parts.length === 0 ? help : `${help} (${parts.join("; ")})`;
}

/**
 * Adds one commander option per setting (and `--no-X` where the spec has
 * `negate`); a `repeatable` flag collects its values into an array. A flag is
 * always optional on the command line: an absent flag is `undefined`, so the
 * environment, the config file and the default apply in
 * {@linkcode settingsOf}. Throws when a key does not match its flag's name
 * (`clientCerts` ↔ `--client-certs`), which would lose the flag silently.
 */
export function withSettings<C extends object>(
  cmd: C,
  specs: Specs,
): C {
  for (const [key, spec] of Object.entries(specs)) {
    if (spec.flag === undefined) continue;
    const option = new Option(
      spec.arg === undefined ? spec.flag : `${spec.flag} ${spec.arg}`,
      settingHelp(spec),
    );
    if (spec.repeatable) option.argParser((v: string, prev: string[] = []) => [...prev, v]);
    if (option.attributeName() !== key) {
      throw new Error(
        `Setting "${key}" is declared with flag ${spec.flag}, whose value commander stores as "${option.attributeName()}": rename one`,
      );
    }
    (cmd as unknown as Command).addOption(option);
    if (spec.negate !== undefined) {
      (cmd as unknown as Command).addOption(new Option(`--no-${spec.flag.slice(2)}`, spec.negate));
    }
  }
  return cmd;
}

/** What {@linkcode flagsOf} reads of a command. */
export interface ParsedCommand {
  opts(): object;
  getOptionValueSource?(key: string): string | undefined;
}

/**
 * The flags of `specs` the user gave on `cmd`'s command line (the others
 * `undefined`, including the `true` commander gives a lone `--no-X` switch
 * that was not given).
 */
export function flagsOf(specs: Specs, cmd: ParsedCommand): Record<string, unknown> {
  const opts = cmd.opts() as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(specs).map((k) => [
      k,
      cmd.getOptionValueSource?.(k) === "default" ? undefined : opts[k],
    ]),
  );
}

/**
 * Resolves `specs` from `cmd`'s flags, then the environment, the config file
 * and the defaults (see `resolveSettings`), typed by the table.
 */
export function settingsOf<S extends Specs>(
  specs: S,
  cmd: ParsedCommand,
  sources: Omit<SettingSources, "flags"> = {},
): ReturnType<typeof resolveSettings<S>> {
  return resolveSettings(specs, { ...sources, flags: flagsOf(specs, cmd) });
}
