/** The `sockkit broker chat` command lines the chat tests start (server "ann" on loopback, a client). */
import { type CliOptions, type CliProcess, spawnCli } from "../harness/mod.ts";

/** `broker chat` waiting for a peer on 127.0.0.1:`port` as "ann", state in `dir`. */
export function chatServerArgs(port: number, dir: string, extra: string[] = []): string[] {
  return [
    "broker",
    "chat",
    "--port",
    String(port),
    "--host",
    "127.0.0.1",
    "--name",
    "ann",
    "--dir",
    dir,
    ...extra,
  ];
}

/** `broker chat` joining the peer on 127.0.0.1:`port`. */
export function chatClientArgs(port: number, extra: string[] = []): string[] {
  return ["broker", "chat", "--target", "127.0.0.1", "--port", String(port), ...extra];
}

/** Starts the chat server of {@linkcode chatServerArgs}. */
export function chatServer(
  port: number,
  dir: string,
  extra: string[] = [],
  opts: CliOptions = {},
): CliProcess {
  return spawnCli(chatServerArgs(port, dir, extra), opts);
}
