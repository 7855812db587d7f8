import { join } from "node:path";
import type { DemoContext } from "../demo/context.ts";
import { certPaths, loadCertsDirTls, loadClientTls, revocationCheck } from "../pki/mod.ts";
import { Connector } from "./connector.ts";
import { BrokerClient } from "./client.ts";
import { delay } from "../async/mod.ts";

/**
 * The broker demo: a server connector and client connector "alice" over
 * mutual TLS; alice sends an acknowledged message, the server answers a
 * request through an app on its local socket, and messages sent while alice
 * is away are replayed from the journal when she reconnects.
 */
export async function demo(ctx: DemoContext): Promise<string[]> {
  const dir = join(ctx.dir, "broker");
  const p = certPaths(ctx.certsDir);
  const tls = await loadCertsDirTls(ctx.certsDir);
  await using server = await Connector.start({
    name: "server",
    dir: join(dir, "server"),
    server: { host: "127.0.0.1", port: 0, tls, authorize: revocationCheck(p.revoked) },
    logger: ctx.logger,
  });
  const ctls = await loadClientTls({
    ca: p.ca,
    cert: p.clientCert("alice"),
    key: p.clientKey("alice"),
  });
  const startAlice = () =>
    Connector.start({
      name: "alice",
      dir: join(dir, "alice"),
      client: { host: "127.0.0.1", port: server.port, tls: { ...ctls, servername: "localhost" } },
      logger: ctx.logger,
    });
  const waitLinked = async (c: Connector) => {
    while (!c.admin.peers()[0]?.connected) {
      if (ctx.signal.aborted) throw new Error("demo interrupted");
      await delay(20);
    }
  };
  const lines: string[] = [];
  // an app on the server's local socket answers "time" requests
  await using serverApp = await BrokerClient.connect(server.socketPath);
  await serverApp.listen("time", (m) => {
    serverApp.send(m.src, "time", { asked: m.data, answer: "it is demo time" }, { replyTo: m.id });
  });
  {
    await using alice = await startAlice();
    await waitLinked(alice);
    const got: unknown[] = [];
    server.listen("greet", (m) => void got.push(m.data));
    await alice.send("server", "greet", "hello from alice", { ack: true });
    lines.push(`alice -> server over mutual TLS on port ${server.port}: acknowledged "${got[0]}"`);
    const reply = await alice.request("server", "time", "what time is it?", { timeoutMs: 5000 });
    lines.push(`request/response through the server's local socket: ${JSON.stringify(reply.data)}`);
  }
  for (let i = 0; i < 3; i++) await server.send("alice", "news", `item ${i + 1}`);
  await server.sync();
  const journaled = server.admin.queueSizes().journals.find((j) => j.peer === "alice")?.messages;
  await using alice = await startAlice();
  await waitLinked(alice);
  const news: string[] = [];
  alice.listen("news", (m) => void news.push(String(m.data)));
  while (news.length < 3) {
    if (ctx.signal.aborted) throw new Error("demo interrupted");
    await delay(20);
  }
  lines.push(
    `alice was away: ${journaled} messages journaled, replayed in order on reconnect: ${
      news.join(", ")
    }`,
  );
  return lines;
}
