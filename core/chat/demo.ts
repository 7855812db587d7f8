import type { DemoContext } from "../demo/context.ts";
import { connect } from "../net/mod.ts";
import { certPaths, loadCertsDirTls, loadClientTls } from "../pki/mod.ts";
import { runClient } from "./client.ts";
import { startChatServer } from "./server.ts";
import type { ClientEvent } from "./session.ts";
import { errorText } from "../log/mod.ts";

/**
 * The servercli demo: a mutual-TLS servercli on loopback with a short
 * period; "alice" waits for one date broadcast, sends three lines and gets
 * them back reversed by grapheme cluster; a client without a certificate is
 * refused.
 */
export async function demo(ctx: DemoContext): Promise<string[]> {
  const paths = certPaths(ctx.certsDir);
  const tls = await loadCertsDirTls(ctx.certsDir);
  const refused: string[] = [];
  await using server = await startChatServer({
    host: "127.0.0.1",
    port: 0,
    tls,
    requireClientCert: true,
    periodMs: 300,
    logger: ctx.logger,
  });
  const clientTls = await loadClientTls({
    ca: paths.ca,
    cert: paths.clientCert("alice"),
    key: paths.clientKey("alice"),
  });
  const conn = await connect({ host: "127.0.0.1", port: server.port, tls: clientTls });
  const sent = ["hello", "abc  ", "cafe\u0301 🇫🇷"];
  const events: ClientEvent[] = [];
  const { promise: dated, resolve: gotDate } = Promise.withResolvers<void>();
  const input = (async function* () {
    await dated; // show a broadcast first, then talk
    yield* sent;
  })();
  const outcome = await runClient(conn, {
    input,
    onEvent: (e) => {
      events.push(e);
      if (e.kind === "date") gotDate();
    },
  });
  if (outcome.kind !== "done") {
    throw new Error(`The demo client lost its connection: ${outcome.reason}`);
  }

  // A client without a certificate gets no service.
  try {
    const anon = await connect({
      host: "127.0.0.1",
      port: server.port,
      tls: await loadClientTls({ ca: paths.ca }),
    });
    const out = await runClient(anon, {
      input: (async function* () {
        yield "hello";
      })(),
      onEvent: () => {},
    });
    refused.push(
      out.kind === "lost" ? "refused, its line went unanswered" : "served (unexpected)",
    );
  } catch (err) {
    refused.push(errorText(err));
  }

  if (refused[0] === "served (unexpected)") {
    throw new Error("A client without a certificate was served despite --require-client-cert");
  }
  const replies = events.filter((e) => e.kind === "reply").map((e) => JSON.stringify(e.text));
  const date = events.find((e) => e.kind === "date")?.text;
  return [
    `servercli on 127.0.0.1:${server.port} (mutual TLS), date broadcast every 0.3 s while clients are connected`,
    `alice got the date ${date} without asking, then sent ${
      sent.map((s) => JSON.stringify(s)).join(", ")
    }`,
    `replies, reversed by grapheme cluster: ${replies.join(", ")}`,
    `a client without a certificate: ${refused[0]}`,
  ];
}
