import { freePort, waitForPort } from "./net.ts";

/** A real `nats-server -js` for a test (see {@linkcode startNats}). */
export interface TestNats extends AsyncDisposable {
  readonly port: number;
  /** `nats://127.0.0.1:PORT`. */
  readonly url: string;
  /** Stops the server (SIGTERM); idempotent. Its JetStream store stays for a restart. */
  stop(): Promise<void>;
}

/**
 * Starts a real `nats-server` with JetStream (`-js`, store in a throwaway
 * directory) on a free port and resolves once it accepts connections.
 * Dispose it to stop the process and remove the store.
 */
export async function startNats(): Promise<TestNats> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "sockkit-nats-" });
  const child = new Deno.Command("nats-server", {
    args: ["-js", "-sd", dir, "-a", "127.0.0.1", "-p", String(port)],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let tail = "";
  const output = (async () => {
    const dec = new TextDecoder();
    for await (const c of child.stderr) {
      tail = (tail + dec.decode(c, { stream: true })).slice(-2000);
    }
  })();
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already exited */ }
      await child.status;
      await output;
    })();
  try {
    await waitForPort(port, { timeoutMs: 10_000 });
  } catch (err) {
    await stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw new Error(`Cannot start nats-server -js on 127.0.0.1:${port}: ${tail.trim()}`, {
      cause: err,
    });
  }
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
