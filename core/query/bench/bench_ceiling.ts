/**
 * The runtime ceiling of the query bench: sockkit's own UDP path (the
 * datagram seam, `UdpServer`, `Answerer`) with the bench handler called
 * inline on the socket's thread, no handler worker, no time limit, no heap
 * cap. It shows what the runtime allows a Deno UDP server doing the same
 * lookup, so the gap between it and the real server is the price of
 * isolating the handler, and the gap between it and the Python anchor is
 * the runtime's per-datagram cost. Not a way to serve: a handler that loops
 * or throws here would stall or take down the whole server.
 */
import { pathToFileURL } from "node:url";
import type { DatagramBackend } from "../../net/mod.ts";
import { Answerer } from "../answerer.ts";
import type { HandlerResult } from "../handler_messages.ts";
import { loadDataFile } from "../load_file.ts";
import { loadDataSpec } from "../spec.ts";
import { UdpServer } from "../udp_server.ts";
import type { BenchData } from "./bench_data.ts";
import { errorText } from "../../log/mod.ts";

/** The ceiling cases' label, as the bench prints it. */
export const CEILING_LABEL = "runtime ceiling: no handler isolation";

/** The ceiling case's name for a datagram backend. */
export function ceilingName(backend: DatagramBackend): string {
  return `${CEILING_LABEL} (${backend === "deno" ? "Deno.listenDatagram" : "node:dgram"})`;
}

type Handler = (query: string, data: Record<string, unknown>) => unknown;

function textOf(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value) ?? "null";
}

/**
 * Starts the ceiling server over the bench's files on 127.0.0.1 (a free
 * port) with the given UDP socket. Text queries only: the bench sends
 * nothing else.
 *
 * @example
 * ```ts
 * await using ceiling = await startCeiling(await writeBenchData(dir, 1000), "deno");
 * console.log(ceiling.port);
 * ```
 */
export async function startCeiling(data: BenchData, backend: DatagramBackend): Promise<UdpServer> {
  const spec = await loadDataSpec(data.spec);
  const tables: Record<string, unknown> = {};
  for (const file of spec.files) tables[file.name] = await loadDataFile(file);
  const handler = (await import(pathToFileURL(data.handler).href)).default as Handler;
  const answerer = new Answerer({
    submit: (_representation, payload, done: (r: HandlerResult) => void) => {
      let result: HandlerResult;
      try {
        result = { ok: true, text: textOf(handler(payload, tables)) };
      } catch (err) {
        result = { ok: false, error: errorText(err) };
      }
      done(result);
    },
  });
  return await UdpServer.bind(answerer, { host: "127.0.0.1", port: 0, backend });
}
