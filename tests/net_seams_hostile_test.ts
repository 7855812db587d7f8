/**
 * Hostile peers against the newer network seams, over real sockets: the
 * datagram seam under the query service's UDP side, and the local (Unix
 * socket) listener under the broker connector's local API. Each case ends
 * with a good client being served.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createLogger } from "../core/log/mod.ts";
import {
  bindDatagram,
  type Connection,
  connectLocal,
  type DatagramBackend,
  type DatagramSocket,
  encodeFrame,
  listenLocal,
} from "../core/net/mod.ts";
import {
  ask,
  decodeHeader,
  errorOf,
  HEADER_BYTES,
  loadDataSpec,
  startQueryServer,
} from "../core/query/mod.ts";
import { startServerConnector } from "../core/broker/service.ts";
import { BrokerClient, SOCKET_NAME } from "../core/broker/mod.ts";
import { encodePayload } from "../core/broker/frame.ts";
import { makePki, tempDir, waitUntil } from "./harness/mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A UDP peer that sends raw datagrams and takes the replies in order of arrival. */
async function udpPeer(): Promise<
  DatagramSocket & { replies: Uint8Array[]; next(): Promise<Uint8Array> }
> {
  const replies: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  const socket = await bindDatagram({
    hostname: "127.0.0.1",
    onMessage: (m) => {
      replies.push(m);
      wake?.();
    },
  });
  let taken = 0;
  return Object.assign(socket, {
    replies,
    async next(): Promise<Uint8Array> {
      while (replies.length <= taken) await new Promise<void>((r) => wake = r);
      return replies[taken++]!;
    },
  });
}

/** The error message of a query reply, or `undefined` when it is no error reply. */
function replyError(reply: Uint8Array): string | undefined {
  const header = decodeHeader(reply);
  return errorOf(header.representation, dec.decode(reply.subarray(HEADER_BYTES)));
}

/** Starts a UDP-only query server over `dir` whose replies may be at most 1024 bytes. */
async function queryServer(dir: string, backend: DatagramBackend, logs: string[]) {
  await Deno.writeTextFile(join(dir, "people.csv"), "id,name\n1,Ada\n2,Grace\n");
  await Deno.writeTextFile(
    join(dir, "handler.js"),
    `export default (q, data) => q.startsWith("huge ") ? "y".repeat(Number(q.slice(5))) : JSON.stringify(data.people[q] ?? null);`,
  );
  await Deno.writeTextFile(
    join(dir, "spec.json"),
    JSON.stringify({ files: [{ path: "people.csv", format: "csv", key: "id" }] }),
  );
  return await startQueryServer({
    spec: await loadDataSpec(join(dir, "spec.json")),
    handler: join(dir, "handler.js"),
    host: "127.0.0.1",
    port: 0,
    tcp: false,
    udpBackend: backend,
    maxDatagramBytes: 1024,
    logger: createLogger({ level: "debug", sink: (l) => logs.push(l) }),
  });
}

for (const backend of ["deno", "node"] as DatagramBackend[]) {
  Deno.test(`query over UDP (${backend} backend) survives garbage, oversized and flooding peers and answers the next good query`, async (t) => {
    await using tmp = await tempDir("sockkit-udp-hostile-");
    const logs: string[] = [];
    await using server = await queryServer(tmp.path, backend, logs);
    const port = server.udpPort!;
    const to = { hostname: "127.0.0.1", port };
    const good = async () => {
      const r = await ask("2", { transport: "udp", port, timeoutMs: 10_000 });
      assert.equal(r.error, undefined);
      assert.deepEqual(JSON.parse(r.text), { id: "2", name: "Grace" });
    };

    await t.step(
      "garbage datagrams get no reply (no reflection), a bad payload an error reply",
      async () => {
        await using peer = await udpPeer();
        const random = crypto.getRandomValues(new Uint8Array(1000));
        random[0] = 0xff; // never a valid protocol byte
        const garbage: Array<[string, Uint8Array]> = [
          ["an empty datagram", new Uint8Array(0)],
          ["a short header", enc.encode("0p")],
          ["a bad protocol byte", enc.encode("Xpt0 2")],
          ["random bytes", random],
        ];
        for (const [what, bytes] of garbage) {
          peer.send(bytes, to);
          // The next reply this peer gets is the answer to the good query after it.
          peer.send(enc.encode("0pt02"), to);
          const reply = await peer.next();
          assert.equal(replyError(reply), undefined, `${what}: no error reply`);
          assert.deepEqual(JSON.parse(dec.decode(reply.subarray(HEADER_BYTES))), {
            id: "2",
            name: "Grace",
          });
        }
        peer.send(Uint8Array.of(0x30, 0x70, 0x74, 0x30, 0xff, 0xfe), to);
        assert.match(replyError(await peer.next()) ?? "", /not valid UTF-8/);
        await good();
      },
    );

    await t.step(
      "the largest datagram IPv4 carries is answered, a reply over the limit is an error reply",
      async () => {
        await using peer = await udpPeer();
        const largest = new Uint8Array(65_507).fill(0x78); // "xxx..."
        largest.set(enc.encode("0pt0"));
        peer.send(largest, to);
        assert.equal(dec.decode((await peer.next()).subarray(HEADER_BYTES)), "null");
        peer.send(enc.encode("0pt0huge 5000"), to);
        assert.match(
          replyError(await peer.next()) ?? "",
          /^Reply too large for a UDP datagram: 5004 bytes exceeds the 1024 byte limit \(ask over TCP instead\)$/,
        );
        await good();
      },
    );

    await t.step(
      "a flood from a peer that never reads and goes away leaves the server answering",
      async () => {
        const flood = await bindDatagram({ hostname: "127.0.0.1", onMessage: () => {} });
        const query = enc.encode("0pt01");
        for (let i = 0; i < 20_000; i++) flood.send(query, to);
        await flood.close(); // the replies go to a closed port
        await good();
        // Every datagram the kernel delivered was answered or refused; none is left in progress.
        await waitUntil(() => server.pool.pending === 0, { what: "the flood to drain" });
        await good();
      },
    );
    assert.ok(!logs.some((l) => /ERROR/.test(l)), logs.filter((l) => /ERROR/.test(l)).join("\n"));
  });
}

/** Collects what a connection receives, and whether it has ended. */
function received(conn: Connection): { text: () => string; ended: () => boolean } {
  let text = "";
  let ended = false;
  conn.receive({ data: (b) => void (text += dec.decode(b)), end: () => void (ended = true) });
  conn.closed.then(() => ended = true);
  return { text: () => text, ended: () => ended };
}

Deno.test("listenLocal() closes connections over maxConnections at once, logs them, and serves the next client once one leaves", async () => {
  await using tmp = await tempDir("sockkit-local-cap-");
  const logs: string[] = [];
  const path = join(tmp.path, "app.sock");
  await using server = await listenLocal({
    path,
    maxConnections: 3,
    logger: createLogger({ level: "debug", sink: (l) => logs.push(l) }),
  }, (conn) => {
    conn.send("hello\n");
    return conn.closed;
  });
  const held = await Promise.all([1, 2, 3].map(() => connectLocal(path)));
  const heldGot = held.map(received);
  await waitUntil(() => heldGot.every((g) => g.text() === "hello\n"), { what: "the greetings" });
  const extra = await Promise.all(Array.from({ length: 20 }, () => connectLocal(path)));
  const extraGot = extra.map(received);
  await waitUntil(() => extraGot.every((g) => g.ended()), {
    what: "the extra clients to be closed",
  });
  assert.ok(extraGot.every((g) => g.text() === ""), "an extra client is never served");
  assert.equal(server.connections.size, 3);
  const refused = logs.filter((l) => /refused local client: too many connections/.test(l));
  assert.equal(refused.length, 20);
  assert.match(refused[0]!, /3 connections open, the cap is 3/);

  await held[0]!.close();
  await waitUntil(() => server.connections.size === 2, { what: "the server to see the close" });
  const next = await connectLocal(path);
  const nextGot = received(next);
  await waitUntil(() => nextGot.text() === "hello\n", { what: "the next client's greeting" });
  await next.close();
  for (const c of held) await c.close();
});

Deno.test("listenLocal() refuses a maxConnections below 1 before touching the socket path", async () => {
  await using tmp = await tempDir("sockkit-local-cap-");
  await assert.rejects(
    listenLocal({ path: join(tmp.path, "app.sock"), maxConnections: 0 }, () => {}),
    /^RangeError: Invalid maxConnections: expected an integer >= 1, got 0$/,
  );
});

Deno.test("the broker local API survives a garbage peer and a peer that never reads, and serves the next app", async (t) => {
  await using pki = await makePki();
  await using tmp = await tempDir("sockkit-local-hostile-");
  const logs: string[] = [];
  await using _connector = await startServerConnector(pki.dir, {
    name: "server",
    dir: tmp.path,
    host: "127.0.0.1",
    port: 0,
    logger: createLogger({ level: "debug", sink: (l) => logs.push(l) }),
  });
  const path = join(tmp.path, SOCKET_NAME);
  const served = async () => {
    await using app = await BrokerClient.connect(path);
    const status = await app.admin("status") as { name?: string };
    assert.equal(status.name, "server");
  };

  await t.step("garbage: the connection is closed", async () => {
    const peer = await connectLocal(path);
    const got = received(peer);
    peer.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitUntil(() => got.ended(), { what: "the garbage peer to be closed" });
    // Before: only a debug line without the reason.
    await waitUntil(() => logs.find((l) => /WARN.*local API app cut off.*protocol error/.test(l)), {
      what: "a warn line giving why the garbage peer was cut off",
    });
    await served();
  });

  await t.step(
    "a peer that sends requests and never reads the replies backs up on its own side; the next app is served",
    async () => {
      const peer = await connectLocal(path);
      peer.pause(); // never reads a reply
      const request = encodeFrame(
        encodePayload({ kind: "admin", id: "x", op: "status" }),
      );
      // Send until the connector stops reading: our own writes back up.
      let sent = 0;
      while (!peer.congested && sent < 2_000_000) {
        peer.send(request);
        sent++;
        if (sent % 1000 === 0) await new Promise((r) => setTimeout(r, 0));
      }
      await waitUntil(() => peer.congested, { what: "the connector to stop reading" });
      assert.ok(sent < 2_000_000, `the connector kept reading ${sent} requests`);
      await served();
      peer.destroy();
    },
  );
  assert.ok(!logs.some((l) => /ERROR/.test(l)), logs.filter((l) => /ERROR/.test(l)).join("\n"));
});
