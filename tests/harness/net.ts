import assert from "node:assert/strict";
import { freeTcpPort } from "../../core/net/mod.ts";
import { cliCommandArgs, type CliResult } from "./cli.ts";
import { runCommand } from "./command.ts";
import { delay } from "../../core/async/mod.ts";

/** Returns a TCP port that is free on 127.0.0.1 right now. */
export function freePort(): number {
  return freeTcpPort();
}

/** Options for {@linkcode waitUntil}. */
export interface WaitUntilOptions {
  /** Give up after this many ms; default 10000. */
  timeoutMs?: number;
  /** Poll interval in ms; default 20. */
  intervalMs?: number;
  /** What is being waited for, for the timeout message. */
  what?: string;
}

/**
 * Polls `fn` until it returns a truthy value (which is returned) or throws
 * after `timeoutMs`. Errors thrown by `fn` count as "not yet"; the last one is
 * the timeout error's cause.
 */
export async function waitUntil<T>(
  fn: () => T | Promise<T>,
  options: WaitUntilOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (true) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${options.what ?? "a condition"}`,
        last === undefined ? undefined : { cause: last },
      );
    }
    await delay(options.intervalMs ?? 20);
  }
}

/** Options for {@linkcode waitForPort}. */
export interface WaitForPortOptions {
  /** Host to connect to; default 127.0.0.1. */
  host?: string;
  /** Give up after this many ms; default 10000. */
  timeoutMs?: number;
}

/** Resolves once a TCP connection to `host:port` succeeds (the connection is closed again). */
export async function waitForPort(port: number, options: WaitForPortOptions = {}): Promise<void> {
  const hostname = options.host ?? "127.0.0.1";
  await waitUntil(async () => {
    const conn = await Deno.connect({ hostname, port });
    conn.close();
    return true;
  }, { timeoutMs: options.timeoutMs ?? 10_000, what: `${hostname}:${port} to accept connections` });
}

/**
 * The command prefix that runs a program in a network namespace of its own,
 * with only a loopback (bring `lo` up first: `ip link set lo up`), so fixed
 * ports are free and addresses can be added without touching the host:
 * `unshare -n` as root, `unshare -rn` in a user namespace otherwise; `null`
 * where neither is allowed or `unshare` or `ip` is missing.
 *
 * @example
 * ```ts
 * const netns = await ownNetwork();
 * if (netns) await runCommand(netns[0]!, [...netns.slice(1), "sh", "-c", "ip link set lo up"]);
 * ```
 */
export async function ownNetwork(): Promise<string[] | null> {
  for (const flags of [["-n"], ["-rn"]]) {
    try {
      const probe = await new Deno.Command("unshare", {
        args: [...flags, "ip", "link", "set", "lo", "up"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (probe.success) return ["unshare", ...flags];
    } catch { /* no unshare */ }
  }
  return null;
}

/**
 * Runs the shell `script` in a network namespace of its own (`netns`, from
 * {@linkcode ownNetwork}) with `"$@"` set to the sockkit command line of
 * `args`; asserts that it exits 0 and returns what it printed.
 *
 * @example
 * ```ts
 * const r = await runInOwnNetwork(netns, 'ip link set lo up\n"$@" & ...', ["search", "serve", ...]);
 * ```
 */
export async function runInOwnNetwork(
  netns: string[],
  script: string,
  args: string[],
  options: { cwd?: string } = {},
): Promise<CliResult> {
  const [unshare, ...flags] = netns;
  const r = await runCommand(unshare!, [
    ...flags,
    "sh",
    "-c",
    script,
    "sh",
    Deno.execPath(),
    ...cliCommandArgs(args),
  ], { ...options, env: { NO_COLOR: "1" } });
  assert.equal(r.code, 0, `the namespace script failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
}
