/**
 * A private `nats-server` child process on a free loopback port, for the
 * broker bench's anchors (so they need no server already running).
 *
 * @module
 */
import { freeTcpPort } from "../net/mod.ts";
import { delay } from "../async/mod.ts";

/** A running private nats-server. */
export interface NatsProcess extends AsyncDisposable {
  /** `127.0.0.1:PORT`. */
  url: string;
  /** Stops it (SIGTERM) and waits for it to exit; idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `nats-server` from the PATH with `args` (besides address and port)
 * and resolves once it takes connections; `undefined` when it is not
 * installed or does not answer within 5 s.
 */
export async function startNatsServer(args: string[] = []): Promise<NatsProcess | undefined> {
  const port = freeTcpPort();
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("nats-server", {
      args: ["-a", "127.0.0.1", "-p", String(port), ...args],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch {
    return undefined;
  }
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* exited */ }
    await child.status;
  };
  const { connect } = await import("nats");
  for (let i = 0; i < 100; i++) {
    try {
      await (await connect({ servers: `127.0.0.1:${port}`, timeout: 500 })).close();
      return { url: `127.0.0.1:${port}`, stop, [Symbol.asyncDispose]: stop };
    } catch {
      await delay(50);
    }
  }
  await stop();
  return undefined;
}
