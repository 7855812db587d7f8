import type { CliProcess } from "./cli.ts";

/** One sample of a Prometheus text exposition: name, labels, value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text (format 0.0.4) into samples; comment lines are skipped. */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new SyntaxError(`Cannot parse metrics line: "${line}"`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** A scrape of `/metrics`, with lookups. */
export interface Scrape {
  text: string;
  samples: Sample[];
  /**
   * The value of the one series `name` whose labels include `labels`; `0`
   * when there is none (a counter not yet incremented). Throws if several match.
   */
  value(name: string, labels?: Record<string, string>): number;
}

/** Fetches `http://127.0.0.1:PORT/metrics` and parses it. */
export async function scrape(port: number, host = "127.0.0.1"): Promise<Scrape> {
  const res = await fetch(`http://${host}:${port}/metrics`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}: ${text}`);
  const samples = parseMetrics(text);
  return {
    text,
    samples,
    value(name, labels = {}) {
      const hits = samples.filter((s) =>
        s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
      );
      if (hits.length > 1) {
        throw new Error(`${hits.length} series of ${name} match ${JSON.stringify(labels)}`);
      }
      return hits[0]?.value ?? 0;
    },
  };
}

/** Waits for a daemon's `metrics on http://HOST:PORT/metrics` log line and returns the port. */
export async function metricsPortOf(p: CliProcess): Promise<number> {
  const m = await p.waitForLine(/metrics on http:\/\/[^ ]*:(\d+)\/metrics/, 30_000);
  return Number(m[1]);
}
