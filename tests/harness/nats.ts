import { connect } from "nats";
import { freePort, waitForPort, waitUntil } from "./net.ts";

/** A real `nats-server -js` for a test (see {@linkcode startNats}). */
export interface TestNats extends AsyncDisposable {
  readonly port: number;
  /** `nats://127.0.0.1:PORT`. */
  readonly url: string;
  /** Stops the server (SIGTERM); idempotent. Its JetStream store stays for a restart. */
  stop(): Promise<void>;
  /** Stops the server if it runs and starts it again on the same port and store. */
  restart(): Promise<void>;
}

/** One nats-server process: its arguments, so it can be started again as it was. */
async function natsProcess(
  port: number,
  args: string[],
  config?: string,
): Promise<TestNats & { dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-nats-" });
  if (config !== undefined) {
    await Deno.writeTextFile(`${dir}/nats.conf`, config);
    args = ["-c", `${dir}/nats.conf`, ...args];
  }
  let run: { stop(): Promise<void> } | undefined;
  const start = async () => {
    const child = new Deno.Command("nats-server", {
      args: ["-js", "-sd", dir, "-a", "127.0.0.1", "-p", String(port), ...args],
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
    run = { stop };
    try {
      await waitForPort(port, { timeoutMs: 10_000 });
    } catch (err) {
      await stop();
      throw new Error(`Cannot start nats-server -js on 127.0.0.1:${port}: ${tail.trim()}`, {
        cause: err,
      });
    }
  };
  try {
    await start();
  } catch (err) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
  const stop = async () => await run?.stop();
  return {
    port,
    dir,
    url: `nats://127.0.0.1:${port}`,
    stop,
    async restart() {
      await stop();
      await start();
    },
    async [Symbol.asyncDispose]() {
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Options for {@linkcode startNats}. */
export interface StartNatsOptions {
  /** nats-server configuration file text (e.g. `max_payload: 2MB`). Default: none. */
  config?: string;
}

/**
 * Starts a real `nats-server` with JetStream (`-js`, store in a throwaway
 * directory) on a free port and resolves once it accepts connections.
 * Dispose it to stop the process and remove the store.
 */
export async function startNats(options: StartNatsOptions = {}): Promise<TestNats> {
  return await natsProcess(freePort(), [], options.config);
}

/** A NATS cluster of real nodes on loopback (see {@linkcode startNatsCluster}). */
export interface TestNatsCluster extends AsyncDisposable {
  readonly nodes: TestNats[];
  /** Every node's client URL. */
  readonly urls: string[];
}

/**
 * Starts `n` `nats-server -js` nodes routed into one NATS cluster on
 * loopback (client and route ports free, each node its own store) and
 * resolves once JetStream has a leader, so replicated streams can be made.
 */
export async function startNatsCluster(n = 3): Promise<TestNatsCluster> {
  const routes = Array.from({ length: n }, () => freePort());
  const routeUrls = routes.map((p) => `nats://127.0.0.1:${p}`).join(",");
  const nodes: TestNats[] = [];
  const cluster: TestNatsCluster = {
    nodes,
    get urls() {
      return nodes.map((x) => x.url);
    },
    async [Symbol.asyncDispose]() {
      await Promise.all(nodes.map((x) => x[Symbol.asyncDispose]()));
    },
  };
  try {
    for (let i = 0; i < n; i++) {
      nodes.push(
        await natsProcess(freePort(), [
          "-n",
          `n${i}`,
          "--cluster_name",
          "sockkit-test",
          "--cluster",
          `nats://127.0.0.1:${routes[i]}`,
          "--routes",
          routeUrls,
        ]),
      );
    }
    const nc = await connect({ servers: cluster.urls });
    try {
      await waitUntil(
        () =>
          nc.jetstreamManager({ timeout: 2000 }).then((m) => m.getAccountInfo()).then(
            () => true,
            () => false,
          ),
        { what: "the NATS cluster's JetStream to elect a leader", timeoutMs: 30_000 },
      );
    } finally {
      await nc.close();
    }
  } catch (err) {
    await cluster[Symbol.asyncDispose]();
    throw err;
  }
  return cluster;
}
