/** A logger that keeps its lines, for the cluster tests that read what a node or bridge logs. */
import { createLogger, type Logger } from "../../core/log/mod.ts";

/** The lines written to `log`, from `level` up. */
export function capture(level: "debug" | "info" = "info"): { lines: string[]; log: Logger } {
  const lines: string[] = [];
  return { lines, log: createLogger({ level, sink: (l) => lines.push(l) }) };
}
