/** `broker chat`: an interactive encrypted chat over a broker link with throwaway certificates. */
import { Command } from "@commander-js/extra-typings";
import { LineFramer } from "../core/net/framing/mod.ts";
import { parse } from "../core/config/mod.ts";
import { shutdownSignal } from "../core/lifecycle/mod.ts";
import { DEFAULT_BROKER_PORT } from "../core/broker/mod.ts";
import { startChat } from "../core/broker/mod.ts";
import { action, globals, loggerFrom, optionParser } from "./_cli.ts";

/** `sockkit broker chat`. */
export function chatCommand() {
  return new Command("chat")
    .description(
      "encrypted chat between two machines over a broker link: without --target wait as the server, " +
        "with --target connect; lines typed are sent; !upload PATH sends a file or directory, " +
        "!import NAME copies a received one here (beside an existing one as NAME.1; !import --force NAME replaces it); !exit leaves. " +
        "Piped lines are all delivered before it exits 0. Throwaway certificates; compare the fingerprint.",
    )
    .option("--target <host>", "connect to this host (default: wait for a peer)")
    .option(
      "--port <port>",
      "port to listen on or connect to",
      optionParser(parse.port),
      DEFAULT_BROKER_PORT,
    )
    .option("--host <host>", "address to bind (server side)", "0.0.0.0")
    .option("--name <name>", "your name in the chat (default server/client)")
    .option("--upload <path>", "send this file or directory, then exit without chatting")
    .option(
      "--accept",
      "waiting as the server, ask before a peer is admitted (answer y with the next line; 60 s, then refused)",
    )
    .option("--dir <dir>", "keep certificates, state and received files here (default: a temp dir)")
    .option(
      "--connect-timeout <duration>",
      "how long to wait for the link: with --target default 10s; waiting as the server, for a peer to send piped lines or --upload to, default no limit",
      optionParser(parse.duration),
    )
    .action(action(async (o, cmd) => {
      const log = loggerFrom(globals(cmd), { svc: "broker-chat" });
      const temp = o.dir === undefined;
      const dir = o.dir ?? await Deno.makeTempDir({ prefix: "sockkit-chat-" });
      const print = (line: string) => console.log(line);
      using stop = shutdownSignal();
      try {
        await using chat = await startChat({
          dir,
          port: o.port,
          host: o.host,
          print,
          logger: log,
          ...(o.target !== undefined ? { target: o.target } : {}),
          ...(o.name !== undefined ? { name: o.name } : {}),
          ...(o.accept ? { accept: true } : {}),
        });
        const piped = !Deno.stdin.isTerminal();
        const linkTimeout = o.connectTimeout ?? (o.target !== undefined ? 10_000 : undefined);
        if (o.target !== undefined || piped || o.upload !== undefined) {
          // A peer that cannot be reached is an error, never a silent exit 0.
          if (!await chat.waitForPeer(linkTimeout, stop)) return 0;
        }
        if (o.upload !== undefined) {
          const r = await chat.upload(o.upload);
          print(
            `* sent ${
              r.dir ? "directory" : "file"
            } "${o.upload}" (${r.files} file(s), ${r.bytes} bytes)`,
          );
          return 0;
        }
        const framer = new LineFramer({ maxLineBytes: 64 * 1024 });
        const reader = Deno.stdin.readable.getReader();
        stop.addEventListener("abort", () => reader.cancel().catch(() => {}), { once: true });
        const dec = new TextDecoder();
        // Each line resolves once the peer's connector has it on disk.
        let failed = 0;
        while (true) {
          const { value, done } = await reader.read();
          if (done) break;
          const lines: string[] = [];
          framer.push(value, (l) => lines.push(dec.decode(l)));
          for (const l of lines) {
            // an --accept question may still be coming: a piped answer waits for it
            if (piped && chat.peer === undefined && !chat.asking) {
              if (!await chat.waitForPeer(linkTimeout, stop)) return 0;
            }
            if (!await chat.line(l)) failed++;
            if (chat.exitRequested) break;
          }
          if (chat.exitRequested) break;
        }
        const rest = framer.takeRest();
        if (rest.length > 0 && !await chat.line(dec.decode(rest))) failed++;
        if (stop.aborted) return 0;
        if (failed > 0 && piped) {
          throw new Error(`${failed} line(s) of the input were not delivered (reasons above)`);
        }
        return 0;
      } finally {
        if (temp) await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    }));
}
