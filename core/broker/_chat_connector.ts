/**
 * The connector under a chat: throwaway certificates in the chat's scratch
 * directory (a CA and server certificate on the server side, a client
 * certificate on the client side) and the broker connector started with
 * them, received files going to the directories `fileDirs` maps their types to.
 */
import { join } from "node:path";
import {
  initPki,
  issueClient,
  loadClientTls,
  loadServerTls,
  parseCertificate,
} from "../pki/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { PeerIdentity } from "../net/mod.ts";
import { Connector, type PeerEvent } from "./connector.ts";

/** What {@linkcode startChatConnector} starts. */
export interface ChatConnectorOptions {
  /** The peer to connect to (client side); undefined on the server side. */
  target: string | undefined;
  /** Port to listen on or connect to. */
  port: number;
  /** Address to bind (server side). */
  host: string;
  /** This side's name. */
  name: string;
  /** The chat's scratch directory. */
  dir: string;
  /** The directory received files of each message type go to. */
  fileDirs: Record<string, string>;
  /** Peer connects and disconnects. */
  onPeer: (event: PeerEvent) => void;
  /** Server side: asked before a peer is admitted; resolves a refusal reason or `undefined`. */
  admit?: (peer: PeerIdentity, name: string) => Promise<string | undefined>;
  logger?: Logger;
}

/** Starts the chat's connector; `serverFingerprint` is the server certificate's (hex, server side only). */
export async function startChatConnector(
  o: ChatConnectorOptions,
): Promise<{ connector: Connector; serverFingerprint: string }> {
  const certs = join(o.dir, "certs");
  const base = {
    name: o.name,
    dir: join(o.dir, "state"),
    fileDirs: o.fileDirs,
    onPeer: o.onPeer,
    ...(o.logger ? { logger: o.logger } : {}),
  };
  if (o.target === undefined) {
    const p = await initPki(certs);
    const tls = await loadServerTls({ cert: p.serverCert, key: p.serverKey });
    tls.clientCa = [await Deno.readTextFile(p.ca)];
    const { fingerprint: serverFingerprint } = await parseCertificate(
      await Deno.readTextFile(p.serverCert),
      `the chat's server certificate "${p.serverCert}"`,
    );
    const connector = await Connector.start({
      ...base,
      server: {
        host: o.host,
        port: o.port,
        tls,
        trustAnyClient: true,
        ...(o.admit ? { admit: o.admit } : {}),
      },
    });
    return { connector, serverFingerprint };
  }
  await initPki(certs);
  const c = await issueClient(certs, o.name);
  const tls = await loadClientTls({ cert: c.cert, key: c.key });
  const connector = await Connector.start({
    ...base,
    client: {
      host: o.target,
      port: o.port,
      tls: { ...tls, insecure: true },
      serverName: "server",
    },
  });
  return { connector, serverFingerprint: "" };
}
