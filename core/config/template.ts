import { fileKeys, type SettingSpec } from "./resolve.ts";

/** One documented setting of a template. */
export interface TemplateEntry {
  /** How the setting is declared. */
  spec: SettingSpec<unknown>;
  /** What it does, one line (from the flag's help). */
  help?: string;
}

function tomlValue(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map(tomlValue).join(", ")}]`;
  if (typeof v === "object") {
    const pairs = Object.entries(v as Record<string, unknown>).map(([k, x]) =>
      JSON.stringify(`${k}=${x}`)
    );
    return `[${pairs.join(", ")}]`;
  }
  return undefined;
}

/**
 * A commented TOML config file listing every setting that has a config key:
 * its help, its flag and environment variable, and its default as a
 * commented-out assignment (so the file changes nothing until a line is
 * uncommented). Settings are grouped by the section of their key.
 *
 * @example
 * ```ts
 * configTemplate("sockkit broker", { port: { spec: SERVE.port, help: "TCP port" } });
 * // # port: TCP port (flag --port, env SOCKKIT_BROKER_PORT)
 * // # port = 10673
 * ```
 */
export function configTemplate(title: string, entries: Record<string, TemplateEntry>): string {
  const sections = new Map<string, string[]>();
  for (const { spec, help } of Object.values(entries)) {
    const key = fileKeys(spec)[0];
    if (key === undefined) continue;
    const dot = key.lastIndexOf(".");
    const section = dot < 0 ? "" : key.slice(0, dot);
    const name = key.slice(dot + 1);
    const where = [spec.flag && `flag ${spec.flag}`, spec.env && `env ${spec.env}`]
      .filter(Boolean).join(", ");
    const lines = sections.get(section) ?? [];
    const value = tomlValue(spec.default);
    lines.push(
      `# ${name}: ${help ?? name}${where ? ` (${where})` : ""}${value ? "" : "; no default"}`,
      `# ${name} = ${value ?? '""'}`,
      "",
    );
    sections.set(section, lines);
  }
  const out = [
    `# ${title} configuration (TOML). Every line is commented out: uncomment what you change.`,
    "# Precedence: flags > environment variables > this file > defaults.",
    "",
  ];
  for (const [section, lines] of sections) {
    if (section) out.push(`[${section}]`, "");
    out.push(...lines);
  }
  return out.join("\n").trimEnd() + "\n";
}
