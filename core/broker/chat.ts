import { basename, join } from "node:path";
import { initPki, issueClient, loadClientTls, loadServerTls } from "../pki/mod.ts";
import type { Logger } from "../log/mod.ts";
import { Connector, DEFAULT_BROKER_PORT, type PeerEvent } from "./connector.ts";
import type { FileResult } from "./api.ts";

/** Message type of chat lines. */
export const CHAT_TYPE = "chat";
/** Message type of chat uploads. */
export const CHAT_FILE_TYPE = "chat-file";

/** Options for {@linkcode startChat}. */
export interface ChatOptions {
  /** Connect to this host (client side); without it, wait for a peer (server side). */
  target?: string;
  /** Port to listen on or connect to. Default 10673. */
  port?: number;
  /** Address to bind (server side). Default `"0.0.0.0"`. */
  host?: string;
  /** This side's name. Default `"server"` / `"client"`. */
  name?: string;
  /** Scratch directory: throwaway certificates, state, received files (created). */
  dir: string;
  /** Receives every line to show the user. */
  print: (line: string) => void;
  logger?: Logger;
}

/** Formats a hex SHA-256 fingerprint as `AB:CD:...`. */
export function formatFingerprint(hex: string): string {
  return hex.toUpperCase().match(/../g)!.join(":");
}

/**
 * An encrypted chat over a broker link with throwaway certificates: the
 * server side waits for one peer, the client side connects to `target`.
 * Both sides print the server certificate's fingerprint so users can compare
 * it on both screens. Lines are sent as `chat` messages; `!upload PATH`
 * sends a file or directory, `!import NAME` copies a received one into the
 * current directory. Shell commands are not offered.
 */
export class ChatSession implements AsyncDisposable {
  readonly connector: Connector;
  readonly received: string;
  /** The server certificate fingerprint, `AB:CD:...`. */
  readonly fingerprint: string;
  readonly #print: (line: string) => void;
  #peer: string | undefined;
  #connected: Array<() => void> = [];

  private constructor(
    connector: Connector,
    received: string,
    fingerprint: string,
    print: (l: string) => void,
  ) {
    this.connector = connector;
    this.received = received;
    this.fingerprint = fingerprint;
    this.#print = print;
  }

  /** The peer currently (or last) connected. */
  get peer(): string | undefined {
    return this.#peer;
  }

  /** Resolves once a peer is connected. */
  connected(): Promise<void> {
    if (this.#peer !== undefined && this.connector.peers().some((p) => p.connected)) {
      return Promise.resolve();
    }
    return new Promise((r) => this.#connected.push(r));
  }

  /** @internal */
  static async start(o: ChatOptions): Promise<ChatSession> {
    const certs = join(o.dir, "certs");
    const received = join(o.dir, "received");
    const port = o.port ?? DEFAULT_BROKER_PORT;
    const isServer = o.target === undefined;
    const name = o.name ?? (isServer ? "server" : "client");
    const ref: { session?: ChatSession } = {};
    let serverFingerprint = "";
    const onPeer = (e: PeerEvent) => {
      const session = ref.session;
      if (!session) return;
      if (e.event === "connected") {
        session.#peer = e.peer;
        if (isServer) {
          o.print(
            `* ${e.peer} connected from ${e.address} (its certificate: ${
              e.fingerprint ? formatFingerprint(e.fingerprint) : "none"
            })`,
          );
        } else {
          const fp = e.fingerprint ? formatFingerprint(e.fingerprint) : "unknown";
          o.print(`* connected to ${o.target}:${port} as ${name}`);
          o.print(`* server certificate SHA-256 ${fp}`);
          o.print("* compare it with the fingerprint shown on the server's screen");
        }
        for (const r of session.#connected.splice(0)) r();
      } else o.print(`* ${e.peer} disconnected (${e.reason ?? "link closed"})`);
    };
    const base = {
      name,
      dir: join(o.dir, "state"),
      fileDirs: { [CHAT_FILE_TYPE]: received },
      onPeer,
      ...(o.logger ? { logger: o.logger } : {}),
    };
    let connector: Connector;
    if (isServer) {
      const p = await initPki(certs);
      const tls = await loadServerTls({ cert: p.serverCert, key: p.serverKey });
      tls.clientCa = [await Deno.readTextFile(p.ca)];
      const info = await Deno.readTextFile(p.serverCert);
      serverFingerprint = await pemFingerprint(info);
      connector = await Connector.start({
        ...base,
        server: { host: o.host ?? "0.0.0.0", port, tls, trustAnyClient: true },
      });
    } else {
      await initPki(certs);
      const c = await issueClient(certs, name);
      const tls = await loadClientTls({ cert: c.cert, key: c.key });
      connector = await Connector.start({
        ...base,
        client: {
          host: o.target!,
          port,
          tls: { ...tls, insecure: true },
          serverName: "server",
        },
      });
    }
    const session = new ChatSession(connector, received, serverFingerprint, o.print);
    ref.session = session;
    if (isServer) {
      o.print(`* chat server "${name}" listening on port ${connector.port}`);
      o.print(`* server certificate SHA-256 ${formatFingerprint(serverFingerprint)}`);
      o.print("* waiting for a peer (sockkit broker chat --target THIS_HOST)");
    }
    connector.listen(CHAT_TYPE, (m) => o.print(`${m.src}: ${String(m.data)}`));
    connector.listen(CHAT_FILE_TYPE, (m) => {
      const f = m.data as {
        file: string;
        path: string;
        bytes: number;
        files: number;
        dir: boolean;
      };
      o.print(
        `* received ${
          f.dir ? "directory" : "file"
        } "${f.file}" from ${m.src} (${f.files} file(s), ${f.bytes} bytes); "!import ${
          basename(f.path)
        }" copies it here`,
      );
    });
    return session;
  }

  /** Sends a file or directory to the peer. */
  async upload(path: string): Promise<FileResult> {
    const to = this.#target();
    return await this.connector.sendFile(to, CHAT_FILE_TYPE, path);
  }

  #target(): string {
    if (this.connector.isServer) {
      if (this.#peer === undefined) throw new Error("No peer has connected yet");
      return this.#peer;
    }
    return "server";
  }

  /** Handles one typed line: a chat line or a `!command`. */
  async line(text: string): Promise<void> {
    if (text.trim() === "") return;
    if (text.startsWith("!")) {
      const [cmd, ...rest] = text.slice(1).split(" ");
      const arg = rest.join(" ").trim();
      try {
        if (cmd === "upload" && arg) {
          const r = await this.upload(arg);
          this.#print(
            `* sent ${
              r.dir ? "directory" : "file"
            } "${arg}" (${r.files} file(s), ${r.bytes} bytes)`,
          );
        } else if (cmd === "import" && arg) {
          const dest = await this.import(arg, Deno.cwd());
          this.#print(`* imported "${arg}" to ${dest}`);
        } else {
          this.#print(
            `* unknown command "!${cmd}": use !upload PATH or !import NAME (shell commands are not offered)`,
          );
        }
      } catch (err) {
        this.#print(`* ${(err as Error).message}`);
      }
      return;
    }
    try {
      await this.connector.send(this.#target(), CHAT_TYPE, text);
    } catch (err) {
      this.#print(`* not sent: ${(err as Error).message}`);
    }
  }

  /** Copies a received file or directory into `destDir`; returns the destination. */
  async import(name: string, destDir: string): Promise<string> {
    if (name.includes("/") || name.startsWith(".")) {
      throw new Error(`Cannot import "${name}": give the name shown when it arrived`);
    }
    const src = join(this.received, name);
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(src);
    } catch {
      throw new Error(`Cannot import "${name}": nothing of that name was received`);
    }
    const dest = join(destDir, name);
    await copy(src, dest, info.isDirectory);
    return dest;
  }

  /** Closes the connector. Idempotent. */
  close(): Promise<void> {
    return this.connector.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Starts a chat session (see {@linkcode ChatSession}). */
export function startChat(options: ChatOptions): Promise<ChatSession> {
  return ChatSession.start(options);
}

async function copy(src: string, dest: string, dir: boolean): Promise<void> {
  if (!dir) {
    await Deno.copyFile(src, dest);
    return;
  }
  await Deno.mkdir(dest, { recursive: true });
  for await (const e of Deno.readDir(src)) {
    await copy(join(src, e.name), join(dest, e.name), e.isDirectory);
  }
}

async function pemFingerprint(pem: string): Promise<string> {
  const b64 = pem.split("-----BEGIN CERTIFICATE-----")[1]!.split("-----END CERTIFICATE-----")[0]!
    .replace(/\s+/g, "");
  const der = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const sum = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
  return [...sum].map((b) => b.toString(16).padStart(2, "0")).join("");
}
