import { type ChatServer, type ChatServerOptions, startChatServer } from "../../core/chat/mod.ts";
import type { ClientTlsOptions } from "../../core/net/mod.ts";
import { loadClientTls, loadServerTls } from "../../core/pki/mod.ts";
import { makePki, type TestPki } from "./pki.ts";

/** An in-process chat server with its own PKI (see {@linkcode startTestChatServer}). */
export interface TestChatServer extends AsyncDisposable {
  server: ChatServer;
  pki: TestPki;
  /** Client TLS options that trust the server's CA (no client certificate). */
  clientTls: ClientTlsOptions;
}

/** Options for {@linkcode startTestChatServer}: the server's, plus the PKI's clients. */
export interface TestChatServerOptions extends Partial<ChatServerOptions> {
  /** Client certificates to issue (CN = name). Default none. */
  clients?: string[];
}

/**
 * Starts the servercli chat server (`startChatServer`) in process on
 * 127.0.0.1, a free port, with the server certificate of a fresh PKI; the
 * other options pass through. Disposing it closes the server and removes the PKI.
 *
 * @example
 * ```ts
 * await using chat = await startTestChatServer({ periodMs: 1000 });
 * await using c = await lineClient(chat.server.port, chat.clientTls);
 * ```
 */
export async function startTestChatServer(
  options: TestChatServerOptions = {},
): Promise<TestChatServer> {
  const { clients, ...serverOptions } = options;
  const pki = await makePki(clients ? { clients } : {});
  try {
    const tls = await loadServerTls({ cert: pki.paths.serverCert, key: pki.paths.serverKey });
    const clientTls = await loadClientTls({ ca: pki.paths.ca });
    const server = await startChatServer({ host: "127.0.0.1", port: 0, tls, ...serverOptions });
    return {
      server,
      pki,
      clientTls,
      async [Symbol.asyncDispose]() {
        await server.close();
        await pki.close();
      },
    };
  } catch (err) {
    await pki.close();
    throw err;
  }
}
