/**
 * Starts the anchor of the query bench: `bench_anchor.py`, a plain Python
 * `socketserver` UDP server doing the bench handler's lookup over the same
 * CSV (standard library only). Its source is embedded in the module (so
 * the compiled binary has it) and written next to the CSV at run time.
 */
import { join } from "node:path";
import source from "./bench_anchor.py" with { type: "text" };
import { settlesWithin } from "../../async/mod.ts";
import { errorText } from "../../log/mod.ts";

/** A running anchor server. */
export interface PythonAnchor extends AsyncDisposable {
  /** Its UDP port on 127.0.0.1. */
  readonly port: number;
  /** Stops it. Idempotent. */
  close(): Promise<void>;
}

/**
 * Writes the anchor into `dir` and starts it with `python` over `csvPath`;
 * resolves once it has bound its port. Rejects with what to do when Python
 * cannot be run or the anchor does not start within `timeoutMs`.
 */
export async function startPythonAnchor(
  dir: string,
  csvPath: string,
  { python = "python3", timeoutMs = 30_000 }: { python?: string; timeoutMs?: number } = {},
): Promise<PythonAnchor> {
  const script = join(dir, "bench_anchor.py");
  await Deno.writeTextFile(script, source);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(python, {
      args: [script, csvPath, "127.0.0.1"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    throw new Error(
      `Cannot start the Python anchor with "${python}": ${
        errorText(err)
      } (install Python 3 or put python3 on PATH)`,
      { cause: err },
    );
  }
  const stderr = new Response(child.stderr).text();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      await child.stdin.close().catch(() => {});
      if (!await settlesWithin(child.status, 2000)) {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
        await child.status;
      }
      await lines.cancel().catch(() => {});
      await stderr.catch(() => {});
    })();
  const bound = (async () => {
    let text = "";
    for (;;) {
      const { value, done } = await lines.read();
      if (done) break;
      text += value;
      const m = /^PORT (\d+)$/m.exec(text);
      if (m) return Number(m[1]);
    }
    const status = await child.status;
    throw new Error(
      `The Python anchor exited (code ${status.code}) before binding: ${
        (await stderr).trim() || "no output"
      }`,
    );
  })();
  try {
    if (!await settlesWithin(bound, timeoutMs)) {
      throw new Error(`The Python anchor did not start within ${timeoutMs} ms`);
    }
    return { port: await bound, close, [Symbol.asyncDispose]: close };
  } catch (err) {
    bound.catch(() => {});
    await close();
    throw err;
  }
}
