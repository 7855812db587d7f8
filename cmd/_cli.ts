/**
 * Helpers every subcommand shares: the global logging options, the logger
 * they produce, and one error path (usage/config errors exit 2, runtime
 * failures exit 1, each as one line on stderr).
 */
import { InvalidArgumentError } from "@commander-js/extra-typings";
import { ConfigError, type Parser } from "../core/config/mod.ts";
import {
  createLogger,
  errorText,
  LOG_LEVELS,
  type LogFormat,
  type Logger,
  type LogLevel,
} from "../core/log/mod.ts";
import { stderrLine } from "./_progress.ts";

/** The global options added by `main.ts`. */
export interface GlobalOptions {
  logLevel?: string;
  logFile?: string;
  logFormat?: string;
}

/**
 * Builds the logger from the global `--log-*` options (and `SOCKKIT_LOG_*` env).
 * `configLogFile` is a log file a service's config file names, used when
 * neither `--log-file` nor `SOCKKIT_LOG_FILE` does.
 */
export function loggerFrom(
  opts: GlobalOptions,
  fields: Record<string, unknown> = {},
  configLogFile?: string,
): Logger {
  const level = (opts.logLevel ?? Deno.env.get("SOCKKIT_LOG_LEVEL") ?? "info") as LogLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(
      `Invalid value for --log-level: expected one of ${LOG_LEVELS.join(", ")}, got "${level}"`,
    );
  }
  const format = (opts.logFormat ?? Deno.env.get("SOCKKIT_LOG_FORMAT") ?? "text") as LogFormat;
  if (format !== "text" && format !== "json") {
    throw new ConfigError(`Invalid value for --log-format: expected text or json, got "${format}"`);
  }
  const file = opts.logFile ?? Deno.env.get("SOCKKIT_LOG_FILE") ?? configLogFile;
  // To stderr through the progress display, so a log line never glues onto a progress line.
  return createLogger({ level, format, fields, ...(file ? { file } : { sink: stderrLine }) });
}

/** Reads the global options of a (sub)command. */
export function globals(cmd: { optsWithGlobals(): unknown }): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

/** Prints an error as one line and returns its exit code (2 for usage/config, 1 otherwise). */
export function reportError(err: unknown): number {
  const msg = errorText(err);
  console.error(`sockkit: ${msg}`);
  if (Deno.env.get("SOCKKIT_DEBUG") && err instanceof Error && err.stack) console.error(err.stack);
  return err instanceof ConfigError || err instanceof InvalidArgumentError ? 2 : 1;
}

/**
 * Wraps a command action: runs it, and on a thrown error prints one line and
 * exits with 2 (usage/config) or 1 (runtime). A returned number is the exit code.
 */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<number | void> | number | void,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    let code: number;
    try {
      code = (await fn(...args)) ?? 0;
    } catch (err) {
      code = reportError(err);
    }
    if (code !== 0) Deno.exit(code);
  };
}

/** A commander argument parser for integers in a range (usage error otherwise). */
export function intArg(min = 0, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    }
    return n;
  };
}

/**
 * Turns a `core/config` parser into a commander option parser, so a bad
 * value is a usage error (exit 2) with the parser's message.
 */
export function optionParser<T>(p: Parser<T>): (v: string) => T {
  return (v) => {
    try {
      return p(v);
    } catch (err) {
      throw new InvalidArgumentError(errorText(err));
    }
  };
}

/** `1 reply`, `2 replies`, `1 object`: a count with its noun in the right number. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
