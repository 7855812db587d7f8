import type { CliResult } from "./cli.ts";

/** Options for {@linkcode runCommand}. */
export interface RunCommandOptions {
  /** Working directory. Default the test's. */
  cwd?: string;
  /** Environment variables to set. Default none added. */
  env?: Record<string, string>;
  /** Start from an empty environment (only `env`). Default `false`. */
  clearEnv?: boolean;
}

/**
 * Runs `program ARGS` with stdin closed and resolves with its exit code and
 * decoded output (for programs other than sockkit itself: see `runCli`).
 */
export async function runCommand(
  program: string,
  args: string[],
  options: RunCommandOptions = {},
): Promise<CliResult> {
  const out = await new Deno.Command(program, {
    args,
    ...options,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
