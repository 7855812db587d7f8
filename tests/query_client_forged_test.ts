/**
 * Forged query replies: the client ignores replies it cannot trust (a plain
 * reply to an encrypted query, a datagram from another socket).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { bindDatagram } from "../core/net/mod.ts";
import { ask, writeKeyPair } from "../core/query/mod.ts";
import { runCli, tempDir, withPythonModule } from "./harness/mod.ts";

const FIXTURES = new URL("../fixtures/query", import.meta.url).pathname;
const enc = new TextEncoder();
const dec = new TextDecoder();
const FORGED = enc.encode('0pt0{"id":"2","name":"FORGED"}');

/** A fake UDP server answering every datagram with `reply`. */
function forgingUdp(reply: Uint8Array) {
  const box: { socket?: Awaited<ReturnType<typeof bindDatagram>> } = {};
  return bindDatagram({
    hostname: "127.0.0.1",
    onMessage: (_m, from) => box.socket!.send(reply, from),
  }).then((s) => box.socket = s);
}

/** A fake TCP server answering every request line with `reply`, then closing. */
function forgingTcp(reply: Uint8Array): Deno.Listener<Deno.TcpConn> & { done: Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    for await (const conn of listener) {
      const buf = new Uint8Array(4096);
      let got = "";
      while (!got.includes("\n")) {
        const n = await conn.read(buf);
        if (n === null) break;
        got += dec.decode(buf.subarray(0, n));
      }
      await conn.write(reply);
      conn.close();
    }
  })().catch(() => {});
  return Object.assign(listener, { done });
}

Deno.test("query ask --server-key refuses a plain reply forged to an encrypted query, over TCP and UDP", async (t) => {
  await using dir = await tempDir("sockkit-query-forged-");
  const keys = await writeKeyPair(join(String(dir), "server"));
  await t.step("tcp", async () => {
    const tcp = forgingTcp(FORGED);
    try {
      const port = (tcp.addr as Deno.NetAddr).port;
      const r = await runCli([
        "query",
        "ask",
        "people 2",
        "--port",
        String(port),
        "--server-key",
        keys.publicKey,
      ]);
      assert.notEqual(r.code, 0);
      assert.doesNotMatch(r.stdout, /FORGED/);
      assert.match(r.stderr, /was not encrypted, so it is not authenticated/);
    } finally {
      tcp.close();
      await tcp.done;
    }
  });
  await t.step("udp", async () => {
    await using udp = await forgingUdp(FORGED);
    const r = await runCli([
      "query",
      "ask",
      "people 2",
      "--udp",
      "--port",
      String(udp.port),
      "--server-key",
      keys.publicKey,
    ]);
    assert.notEqual(r.code, 0);
    assert.doesNotMatch(r.stdout, /FORGED/);
    assert.match(r.stderr, /was not encrypted, so it is not authenticated/);
  });
});

Deno.test("query ask over UDP ignores a reply from any socket but the one it asked", async (t) => {
  const real = enc.encode("0pt0REAL");
  await using other = await bindDatagram({ hostname: "127.0.0.1", onMessage: () => {} });
  const state: { answer: boolean; server?: Awaited<ReturnType<typeof bindDatagram>> } = {
    answer: false,
  };
  // Receives on one socket; the other socket answers first (forged), then maybe the real one.
  await using server = state.server = await bindDatagram({
    hostname: "127.0.0.1",
    onMessage: (_m, from) => {
      other.send(enc.encode("0pt0FORGED"), from);
      if (state.answer) setTimeout(() => state.server!.send(real, from), 50);
    },
  });
  await t.step("only another socket answers: no reply", async () => {
    await assert.rejects(
      ask("people 2", { transport: "udp", port: server.port, timeoutMs: 300 }),
      /No reply from 127\.0\.0\.1:\d+ over UDP within 300 ms/,
    );
  });
  await t.step("the queried socket answers after the other: its reply is taken", async () => {
    state.answer = true;
    const r = await ask("people 2", { transport: "udp", port: server.port, timeoutMs: 2000 });
    assert.equal(r.text, "REAL");
    const named = await ask("people 2", {
      host: "localhost",
      transport: "udp",
      port: server.port,
      timeoutMs: 2000,
    });
    assert.equal(named.text, "REAL");
  });
});

const pyCrypto = await withPythonModule("cryptography", "apt install python3-cryptography");

pyCrypto.test({
  name:
    "the Python example client refuses a forged plain reply to an encrypted query, over TCP and UDP",
  fn: async () => {
    await using dir = await tempDir("sockkit-query-forged-py-");
    const keys = await writeKeyPair(join(String(dir), "server"));
    const run = async (port: number, ...args: string[]) => {
      const o = await new Deno.Command(pyCrypto.python, {
        args: [join(FIXTURES, "client.py"), "people 2", "--port", String(port), ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: o.code, stdout: dec.decode(o.stdout), stderr: dec.decode(o.stderr) };
    };
    const tcp = forgingTcp(FORGED);
    try {
      const r = await run((tcp.addr as Deno.NetAddr).port, "--tcp", "--server-key", keys.publicKey);
      assert.equal(r.code, 1, r.stderr);
      assert.doesNotMatch(r.stdout, /FORGED/);
      assert.match(r.stderr, /was not encrypted, so it is not authenticated/);
    } finally {
      tcp.close();
      await tcp.done;
    }
    await using udp = await forgingUdp(FORGED);
    const r = await run(udp.port, "--server-key", keys.publicKey);
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stdout, /FORGED/);
    assert.match(r.stderr, /was not encrypted, so it is not authenticated/);
  },
});
