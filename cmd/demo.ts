/**
 * `sockkit demo`: runs every service that exists on loopback with throwaway
 * certificates, exercises each once and prints what happened.
 */
import { Command, InvalidArgumentError } from "@commander-js/extra-typings";
import { shutdownSignal } from "../core/lifecycle/mod.ts";
import { type DemoStepResult, runDemo } from "../core/demo/mod.ts";
import { DEMO_STEPS } from "../core/demo/steps.ts";
import { action, globals, intArg, loggerFrom } from "./_cli.ts";

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function print(r: DemoStepResult): void {
  if (r.ok) {
    console.log(`✓ ${r.name} (${seconds(r.ms)})`);
    for (const line of r.lines) console.log(`    ${line}`);
  } else {
    console.log(`✗ ${r.name} (${seconds(r.ms)}): ${r.error}`);
  }
}

/** Builds `sockkit demo`. */
export function demoCommand() {
  return new Command("demo")
    .description(
      "Run each service on loopback with throwaway certificates (and a private redis-server " +
        "where needed), exercise it once, print what happened and clean up",
    )
    .option(
      "--only <steps>",
      `comma-separated steps to run (default all: ${DEMO_STEPS.map((s) => s.name).join(", ")})`,
    )
    .option("--step-timeout <seconds>", "fail a step that takes longer", intArg(1, 3600), 30)
    .action(action(async (opts, cmd) => {
      const g = globals(cmd);
      const logger = loggerFrom({
        ...g,
        logLevel: g.logLevel ?? Deno.env.get("SOCKKIT_LOG_LEVEL") ?? "error",
      });
      let steps = DEMO_STEPS;
      if (opts.only !== undefined) {
        const names = opts.only.split(",").map((s) => s.trim()).filter(Boolean);
        const unknown = names.find((n) => !DEMO_STEPS.some((s) => s.name === n));
        if (unknown !== undefined || names.length === 0) {
          throw new InvalidArgumentError(
            `Invalid value for --only: unknown step "${unknown ?? ""}" (expected some of ${
              DEMO_STEPS.map((s) => s.name).join(", ")
            })`,
          );
        }
        steps = DEMO_STEPS.filter((s) => names.includes(s.name));
      }
      using signal = shutdownSignal();
      console.log(
        `sockkit demo: ${steps.length} step${
          steps.length === 1 ? "" : "s"
        } on 127.0.0.1 with throwaway certificates`,
      );
      const results = await runDemo(steps, {
        logger,
        signal,
        stepTimeoutMs: opts.stepTimeout * 1000,
        onStep: print,
      });
      const passed = results.filter((r) => r.ok).length;
      if (signal.aborted) {
        console.log(`interrupted after ${results.length} of ${steps.length} steps; cleaned up`);
        return 130;
      }
      console.log(
        `${passed} of ${steps.length} steps passed; temporary files and processes removed`,
      );
      return passed === steps.length ? 0 : 1;
    }));
}
