import { join } from "node:path";
import type { DemoContext } from "../demo/context.ts";
import { ask } from "./client.ts";
import { loadKeyPair, loadPublicKey, writeKeyPair } from "./keys.ts";
import { startQueryServer } from "./server.ts";
import { loadDataSpec } from "./spec.ts";
import { delay } from "../async/mod.ts";

const HANDLER = `export default function handler(query, data) {
  if (typeof query === "string") {
    const row = data.people[query.trim()];
    return row === undefined ? "NOT FOUND" : row.name + " (" + row.city + ")";
  }
  return data.cities[query.city] ?? null;
}
`;

/**
 * The query demo: a server over a people CSV keyed by column name and a
 * cities CSV keyed by column index answers a text query over UDP, a JSON
 * query over encrypted TCP, and sees a changed CSV on the next query.
 */
export async function demo(ctx: DemoContext): Promise<string[]> {
  const dir = join(ctx.dir, "query");
  await Deno.mkdir(dir, { recursive: true });
  const people = join(dir, "people.csv");
  await Deno.writeTextFile(people, "id,name,city\n1,Ada,London\n2,Grace,New York\n");
  await Deno.writeTextFile(join(dir, "cities.csv"), "London,UK\nNew York,US\n");
  await Deno.writeTextFile(join(dir, "handler.js"), HANDLER);
  await Deno.writeTextFile(
    join(dir, "spec.json"),
    JSON.stringify({
      files: [{ path: "people.csv", key: "id" }, { path: "cities.csv", keyIndex: 0 }],
    }),
  );
  const keys = await writeKeyPair(join(dir, "keys"));
  await using server = await startQueryServer({
    spec: await loadDataSpec(join(dir, "spec.json")),
    handler: join(dir, "handler.js"),
    host: "127.0.0.1",
    port: 0,
    key: await loadKeyPair(keys.privateKey),
    checkIntervalMs: 50,
    logger: ctx.logger,
  });
  const port = server.tcpPort!;
  const out: string[] = [];
  const udp = await ask("2", { port, transport: "udp" });
  out.push(`TCP+UDP on :${port}, 2 data files; UDP text "2" → ${udp.error ?? udp.text}`);
  const serverKey = await loadPublicKey(keys.publicKey);
  const tcp = await ask('{"city":"London"}', { port, representation: "j", serverKey });
  out.push(
    `encrypted (X25519 + AES-256-GCM) TCP JSON {"city":"London"} → ${tcp.error ?? tcp.text}`,
  );
  await Deno.writeTextFile(people, "id,name,city\n1,Ada,London\n2,Grace Hopper,Arlington\n");
  const deadline = Date.now() + 5000;
  let changed = "";
  while (Date.now() < deadline && !ctx.signal.aborted) {
    const r = await ask("2", { port, transport: "udp" });
    if (r.text.includes("Hopper")) {
      changed = r.text;
      break;
    }
    await delay(20);
  }
  if (!changed) throw new Error("The changed people.csv was not picked up within 5 s");
  out.push(`people.csv changed on disk → next answer "${changed}"`);
  return out;
}
