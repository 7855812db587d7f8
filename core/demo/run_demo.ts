import { join } from "node:path";
import type { Logger } from "../log/mod.ts";
import { nullLogger } from "../log/mod.ts";
import { initPki, issueClient } from "../pki/mod.ts";
import type { DemoContext, DemoStep, DemoStepResult } from "./context.ts";
import { type RedisServer, startRedisServer } from "./redis_process.ts";
import { errorText } from "../log/mod.ts";

/** Options for {@linkcode runDemo}. */
export interface RunDemoOptions {
  /** Receives debug details from steps. Default: silent. */
  logger?: Logger;
  /** Interrupts the demo (Ctrl-C): the current step is aborted, no further step runs. */
  signal?: AbortSignal;
  /** A step that takes longer fails, ms. Default 30000. */
  stepTimeoutMs?: number;
  /** Called after each step, so output can appear as the demo goes. */
  onStep?: (result: DemoStepResult) => void;
  /** Extra `redis-server` arguments for the private Redis. */
  redisArgs?: string[];
}

/** The demo's client certificate names. */
export const DEMO_CLIENTS = ["alice", "bob"] as const;

/**
 * Runs demo steps one after another in a fresh temp directory with throwaway
 * certificates (CA, server, clients "alice" and "bob") and, for steps that
 * ask for it, a private `redis-server` on a free port. Every step's outcome
 * is collected; a failing step does not stop the others. Whatever happens —
 * failure, timeout, interruption — Redis is stopped and the directory
 * removed before this resolves.
 *
 * @example
 * ```ts
 * const results = await runDemo(DEMO_STEPS, { onStep: (r) => console.log(r.name, r.ok) });
 * ```
 */
export async function runDemo(
  steps: readonly DemoStep[],
  options: RunDemoOptions = {},
): Promise<DemoStepResult[]> {
  const logger = options.logger ?? nullLogger;
  const dir = await Deno.makeTempDir({ prefix: "sockkit-demo-" });
  let redis: Promise<RedisServer> | undefined;
  const results: DemoStepResult[] = [];
  try {
    const certsDir = join(dir, "certs");
    await initPki(certsDir);
    for (const name of DEMO_CLIENTS) await issueClient(certsDir, name);
    const redisUrl = async () => {
      redis ??= startRedisServer({
        logger,
        ...(options.redisArgs ? { args: options.redisArgs } : {}),
      });
      return (await redis).url;
    };
    for (const step of steps) {
      if (options.signal?.aborted) break;
      const result = await runStep(step, {
        dir,
        certsDir,
        redisUrl,
        logger: logger.child({ step: step.name }),
      }, options);
      results.push(result);
      options.onStep?.(result);
    }
    return results;
  } finally {
    if (redis) await redis.then((r) => r[Symbol.asyncDispose](), () => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function runStep(
  step: DemoStep,
  base: Omit<DemoContext, "signal">,
  options: RunDemoOptions,
): Promise<DemoStepResult> {
  const started = performance.now();
  const timeoutMs = options.stepTimeoutMs ?? 30_000;
  const ctl = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onAbort = () => ctl.abort(options.signal?.reason ?? "interrupted");
  options.signal?.addEventListener("abort", onAbort, { once: true });
  // Settles when the step must stop waiting: timeout or interruption.
  const stopped = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`timed out after ${timeoutMs} ms`);
      ctl.abort(err);
      reject(err);
    }, timeoutMs);
    ctl.signal.addEventListener("abort", () => {
      const r = ctl.signal.reason;
      reject(r instanceof Error ? r : new Error(`interrupted (${String(r)})`));
    }, { once: true });
  });
  stopped.catch(() => {});
  try {
    const lines = await Promise.race([step.run({ ...base, signal: ctl.signal }), stopped]);
    return { name: step.name, ok: true, lines, ms: performance.now() - started };
  } catch (err) {
    const error = errorText(err);
    base.logger.debug("demo step failed", { error, stack: (err as Error)?.stack });
    return { name: step.name, ok: false, lines: [], error, ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
    if (!ctl.signal.aborted) ctl.abort("step finished");
  }
}
