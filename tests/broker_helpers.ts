/** Shared setup for the broker integration tests: connectors as CLI subprocesses. */
import { join } from "node:path";
import { type CliProcess, freePort, spawnCli, waitUntil } from "./harness/mod.ts";
import { BrokerClient } from "../core/broker/mod.ts";

/** Starts `broker serve` on a fixed free port and waits until it listens. */
export async function startServer(
  certs: string,
  dir: string,
  port: number,
  extra: string[] = [],
): Promise<CliProcess> {
  const p = spawnCli([
    "broker",
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--certs",
    certs,
    "--dir",
    dir,
    "--heartbeat",
    "1s",
    ...extra,
  ]);
  await p.waitForLine(/INFO\s+listening /, 30_000);
  return p;
}

/** Starts `broker connect` for `name`. */
export function startClient(
  certs: string,
  dir: string,
  name: string,
  port: number,
  extra: string[] = [],
): CliProcess {
  return spawnCli([
    "broker",
    "connect",
    "--name",
    name,
    "--server",
    `127.0.0.1:${port}`,
    "--certs",
    certs,
    "--dir",
    dir,
    "--heartbeat",
    "1s",
    ...extra,
  ]);
}

/** Waits for the client connector's "connected to server" line after `from` earlier lines. */
export async function connected(client: CliProcess): Promise<void> {
  await client.waitForLine(/connected to server/, 30_000);
}

/** Connects an app to a connector's local socket, retrying until the socket is there. */
export async function app(dir: string): Promise<BrokerClient> {
  return await waitUntil(
    () => BrokerClient.connect(join(dir, "broker.sock")).catch(() => undefined),
    { timeoutMs: 20_000, intervalMs: 100 },
  );
}

/** Stops a connector with SIGTERM and waits for exit code 0. */
export async function stop(p: CliProcess): Promise<number> {
  p.kill("SIGTERM");
  return (await p.status).code;
}

export { freePort };
