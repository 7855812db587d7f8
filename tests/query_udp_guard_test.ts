/**
 * Forged and looping UDP query traffic: the server sends nothing for garbage
 * and few error replies to one source, so that two servers cannot answer
 * each other at full speed.
 */
import assert from "node:assert/strict";
import { bindDatagram } from "../core/net/mod.ts";
import { delay } from "../core/async/mod.ts";
import { ask, exchange } from "../core/query/mod.ts";
import { queryServeArgs, spawnCli } from "./harness/mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function serve(...extra: string[]) {
  return spawnCli(queryServeArgs({ only: "udp" }, ...extra));
}

Deno.test("query serve sends no UDP reply to garbage and still answers a good query", async () => {
  await using srv = serve();
  const port = Number((await srv.waitForLine(/listening .*udp=(\d+)/, 30_000))[1]);
  for (const garbage of ["", "0p", "hello", "1pt0people 1", "0Zt0x"]) {
    await assert.rejects(
      exchange(enc.encode(garbage), { port, transport: "udp", timeoutMs: 300 }),
      /No reply/,
      JSON.stringify(garbage),
    );
  }
  const r = await ask("people 1", { port, transport: "udp" });
  assert.equal(r.error, undefined);
  assert.match(r.text, /Ada Lovelace/);
  await srv.waitForLine(/UDP datagram not answered.*reason=unreadable/, 5000);
});

Deno.test("query serve sends one source at most 50 error replies a second over UDP, so a reply loop between two servers decays", async () => {
  await using srv = serve();
  const port = Number((await srv.waitForLine(/listening .*udp=(\d+)/, 30_000))[1]);
  let replies = 0;
  await using peer = await bindDatagram({
    hostname: "127.0.0.1",
    onMessage: (m) => {
      if (dec.decode(m).startsWith("0pt0ERROR: ")) replies++;
    },
  });
  // What another query server would send back: a reply, itself a well-formed request.
  const sent = 200;
  for (let i = 0; i < sent; i++) {
    peer.send(enc.encode("0pt0ERROR: x"), { hostname: "127.0.0.1", port });
    if (i % 20 === 19) await delay(5);
  }
  await delay(700);
  assert.ok(replies >= 1, "the first error replies are sent");
  // One window or, when the burst straddles a window's end, two.
  assert.ok(replies <= 100, `${replies} error replies to ${sent} requests`);
  // A good query from the same address is still answered.
  const r = await ask("people 1", { port, transport: "udp" });
  assert.match(r.text, /Ada Lovelace/);
});

Deno.test("query serve answers a source on a service port (below 32768: where servers listen) at most 100 times a second, an ephemeral-port client in full", async () => {
  await using srv = serve();
  const port = Number((await srv.waitForLine(/listening .*udp=(\d+)/, 30_000))[1]);
  const count = async (hostname: string, fromPort: number) => {
    let answers = 0;
    await using peer = await bindDatagram({
      hostname,
      port: fromPort,
      onMessage: (m) => {
        if (dec.decode(m).includes("Ada Lovelace")) answers++;
      },
    });
    // A well-formed query with a normal answer: what loops when a reply is taken for a query.
    for (let i = 0; i < 300; i++) {
      peer.send(enc.encode("0pt0people 1"), { hostname: "127.0.0.1", port });
      if (i % 10 === 9) await delay(5);
    }
    await delay(700);
    return answers;
  };
  // A free port below 32768 to send from, as another server would.
  let servicePort = 0;
  for (let p = 20000 + Math.floor(Math.random() * 10000); servicePort === 0; p++) {
    try {
      const probe = Deno.listenDatagram({ hostname: "127.0.0.1", port: p, transport: "udp" });
      probe.close();
      servicePort = p;
    } catch { /* taken */ }
  }
  const fromService = await count("127.0.0.1", servicePort);
  assert.ok(
    fromService >= 1 && fromService <= 200,
    `${fromService} answers to 300 from a service port`,
  );
  // More than the service-port allowance could give (a datagram may be lost on a busy machine).
  const fromClient = await count("127.0.0.1", 0);
  assert.ok(fromClient > 200, `${fromClient} answers to 300 from an ephemeral port`);
  await srv.waitForLine(/UDP datagram not answered.*reason=service_port_rate/, 5000);
});
