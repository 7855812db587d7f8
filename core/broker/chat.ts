import { basename, join } from "node:path";
import { type Logger, printable } from "../log/mod.ts";
import type { PeerIdentity } from "../net/mod.ts";
import { type Connector, DEFAULT_BROKER_PORT, type PeerEvent } from "./connector.ts";
import type { FileResult } from "./api.ts";
import { startChatConnector } from "./_chat_connector.ts";
import { importReceived, type ImportResult } from "./_chat_import.ts";
import { runChatCommand } from "./_chat_commands.ts";

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
  /** Receives every line to show the user, its control characters written as escapes (`printable`). */
  print: (line: string) => void;
  /**
   * Server side: ask the user before a peer is admitted; the next typed line
   * answers (`y` or `yes` admits). Unanswered after `acceptTimeoutMs`
   * (default 60000) is a refusal.
   */
  accept?: boolean;
  /** How long `accept` waits for an answer, ms. Default 60000. */
  acceptTimeoutMs?: number;
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
  /** `host:port` this client side connects to; undefined on the server side. */
  readonly #target: string | undefined;
  #peer: string | undefined;
  #connected: Array<() => void> = [];
  /** The answer to a pending `--accept` question, when one is asked. */
  #answer: ((line: string) => void) | undefined;
  #exit = false;

  private constructor(
    connector: Connector,
    received: string,
    fingerprint: string,
    print: (l: string) => void,
    target: string | undefined,
  ) {
    this.#target = target;
    this.connector = connector;
    this.received = received;
    this.fingerprint = fingerprint;
    this.#print = print;
  }

  /** The peer currently (or last) connected. */
  get peer(): string | undefined {
    return this.#peer;
  }

  /** Whether `!exit` was typed: the caller stops reading lines. */
  get exitRequested(): boolean {
    return this.#exit;
  }

  /** Whether an `--accept` question waits for the user's next line. */
  get asking(): boolean {
    return this.#answer !== undefined;
  }

  /** Asks the user whether to admit a peer; resolves a refusal reason or `undefined`. */
  async #admit(peer: PeerIdentity, name: string, timeoutMs: number): Promise<string | undefined> {
    if (this.#answer) return `another peer is waiting to be accepted`;
    const fp = peer.fingerprint ? formatFingerprint(peer.fingerprint) : "none";
    this.#print(
      `* ${name} asks to join from ${peer.address}:${peer.port} (its certificate: ${fp}); accept? [y/N]`,
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const line = await new Promise<string | undefined>((resolve) => {
      this.#answer = resolve;
      timer = setTimeout(() => resolve(undefined), timeoutMs);
      for (const r of this.#connected.splice(0)) r();
    });
    clearTimeout(timer);
    this.#answer = undefined;
    if (line !== undefined && /^\s*y(es)?\s*$/i.test(line)) return undefined;
    this.#print(`* ${name} was not accepted`);
    return line === undefined
      ? `the chat's user did not answer within ${timeoutMs / 1000} s whether to accept "${name}"`
      : `the chat's user did not accept "${name}"`;
  }

  /** Resolves once a peer is connected (or, with `--accept`, asks to be). */
  connected(): Promise<void> {
    if (this.isConnected) return Promise.resolve();
    return new Promise((r) => this.#connected.push(r));
  }

  /** Whether a peer is connected now. */
  get isConnected(): boolean {
    return this.#peer !== undefined && this.connector.admin.peers().some((p) => p.connected);
  }

  /**
   * Resolves `true` once a peer is connected; rejects after `timeoutMs`
   * (default: no limit) with an error saying who could not be reached.
   * `signal` ends the wait quietly (`false`).
   */
  async waitForPeer(timeoutMs: number | undefined, signal?: AbortSignal): Promise<boolean> {
    if (this.isConnected || this.asking) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    const outcome = await Promise.race([
      this.connected().then(() => "connected" as const),
      this.connector.fatal, // refused for good (for example not accepted): say why at once
      new Promise<"timeout">((r) => {
        if (timeoutMs !== undefined) timer = setTimeout(() => r("timeout"), timeoutMs);
      }),
      new Promise<"aborted">((r) => {
        onAbort = () => r("aborted");
        if (signal?.aborted) onAbort();
        signal?.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
    if (outcome === "connected") return true;
    if (outcome === "aborted") return false;
    const secs = `${(timeoutMs ?? 0) / 1000} s`;
    throw new Error(
      this.#target === undefined
        ? `No peer connected within ${secs} (--connect-timeout to wait longer)`
        : `Cannot reach the chat peer at ${this.#target}: no link within ${secs} (is ` +
          `"sockkit broker chat" running there, on that --port? --connect-timeout to wait longer)`,
    );
  }

  /** @internal */
  static async start(o: ChatOptions): Promise<ChatSession> {
    // Every line shown holds peer text (its lines, name, file names, reasons): none may steer the terminal.
    const print = (line: string) => o.print(printable(line));
    const received = join(o.dir, "received");
    const port = o.port ?? DEFAULT_BROKER_PORT;
    const isServer = o.target === undefined;
    const name = o.name ?? (isServer ? "server" : "client");
    const ref: { session?: ChatSession } = {};
    const onPeer = (e: PeerEvent) => {
      const session = ref.session;
      if (!session) return;
      if (e.event === "connected") {
        session.#peer = e.peer;
        if (isServer) {
          print(
            `* ${e.peer} connected from ${e.address} (its certificate: ${
              e.fingerprint ? formatFingerprint(e.fingerprint) : "none"
            })`,
          );
        } else {
          const fp = e.fingerprint ? formatFingerprint(e.fingerprint) : "unknown";
          print(`* connected to ${o.target}:${port} as ${name}`);
          print(`* server certificate SHA-256 ${fp}`);
          print("* compare it with the fingerprint shown on the server's screen");
        }
        for (const r of session.#connected.splice(0)) r();
      } else print(`* ${e.peer} disconnected (${e.reason ?? "link closed"})`);
    };
    const acceptMs = o.acceptTimeoutMs ?? 60_000;
    const { connector, serverFingerprint } = await startChatConnector({
      target: o.target,
      port,
      host: o.host ?? "0.0.0.0",
      name,
      dir: o.dir,
      fileDirs: { [CHAT_FILE_TYPE]: received },
      onPeer,
      ...(isServer && o.accept
        ? {
          admit: (peer: PeerIdentity, name: string) =>
            ref.session ? ref.session.#admit(peer, name, acceptMs) : Promise.resolve("starting"),
        }
        : {}),
      ...(o.logger ? { logger: o.logger } : {}),
    });
    const session = new ChatSession(
      connector,
      received,
      serverFingerprint,
      print,
      isServer ? undefined : `${o.target}:${port}`,
    );
    ref.session = session;
    if (isServer) {
      print(`* chat server "${name}" listening on port ${connector.port}`);
      print(`* server certificate SHA-256 ${formatFingerprint(serverFingerprint)}`);
      const portFlag = connector.port === DEFAULT_BROKER_PORT ? "" : ` --port ${connector.port}`;
      print(`* waiting for a peer (sockkit broker chat --target THIS_HOST${portFlag})`);
    }
    connector.listen(CHAT_TYPE, (m) => print(`${m.src}: ${String(m.data)}`));
    connector.listen(CHAT_FILE_TYPE, (m) => {
      const f = m.data as {
        file: string;
        path: string;
        bytes: number;
        files: number;
        dir: boolean;
      };
      print(
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
    const to = this.#destination();
    return await this.connector.sendFile(to, CHAT_FILE_TYPE, path);
  }

  #destination(): string {
    if (this.connector.isServer) {
      if (this.#peer === undefined) throw new Error("No peer has connected yet");
      return this.#peer;
    }
    return "server";
  }

  /**
   * Handles one typed line: a chat line (resolved once the peer's connector
   * has it on disk) or a `!command`. Resolves `false` when a line or an
   * upload was not delivered (the reason is printed).
   */
  async line(text: string): Promise<boolean> {
    if (this.#answer) {
      this.#answer(text);
      return true;
    }
    if (text.trim() === "") return true;
    if (text.trim() === "!exit") {
      this.#exit = true;
      this.#print("* leaving the chat");
      return true;
    }
    if (text.startsWith("!")) return await runChatCommand(text, this, this.#print);
    try {
      await this.connector.send(this.#destination(), CHAT_TYPE, text, { ack: true });
      return true;
    } catch (err) {
      this.#print(`* not sent: ${(err as Error).message}`);
      return false;
    }
  }

  /**
   * Copies a received file or directory into `destDir`. An existing entry of
   * that name is never overwritten unless `force`: the copy is written beside
   * it as `NAME.1`, `NAME.2`, ... (`renamed`).
   */
  async import(
    name: string,
    destDir: string,
    options: { force?: boolean } = {},
  ): Promise<ImportResult> {
    return await importReceived(this.received, name, destDir, options.force ?? false);
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
