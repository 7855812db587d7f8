import type { Logger } from "../log/mod.ts";

/** What every demo step gets (see {@linkcode runDemo}). */
export interface DemoContext {
  /** A temporary directory for this demo run, removed afterwards. */
  dir: string;
  /** A certificates directory inside `dir`: `initPki` done, clients "alice" and "bob" issued. */
  certsDir: string;
  /** Starts a private `redis-server` on a free port on first call; resolves with its URL. */
  redisUrl(): Promise<string>;
  /** Where steps log (debug details, not the step's summary lines). */
  logger: Logger;
  /** Aborts when the demo is interrupted or the step runs out of time. */
  signal: AbortSignal;
}

/** One demo step: runs a service on loopback, exercises it once, returns 1–4 readable lines. */
export interface DemoStep {
  /** Short name shown before the lines, e.g. `"ingest"`. */
  name: string;
  /** Runs the step; throws when the service did not behave. */
  run(ctx: DemoContext): Promise<string[]>;
}

/** What happened in one step. */
export interface DemoStepResult {
  name: string;
  ok: boolean;
  /** The step's lines (when it succeeded). */
  lines: string[];
  /** The error message (when it failed). */
  error?: string;
  /** Wall time in ms. */
  ms: number;
}
