import assert from "node:assert/strict";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { makePki, runCli, spawnCli, waitUntil } from "./harness/mod.ts";
import { revoke } from "../core/pki/mod.ts";
import type { Message } from "../core/broker/mod.ts";
import {
  app,
  appArgs,
  type BrokerSite,
  brokerSite,
  connected,
  startClient,
  stop,
} from "./broker_helpers.ts";

const PREFIX = "sockkit-broker-test-";
const BOTH_STOPPED = { client: 0, server: 0 };

function collect(into: Message[]): (m: Message) => void {
  return (m) => void into.push(m);
}

Deno.test("broker: messages flow both ways over mTLS with type, source, destination, binary, acks, requests and timeouts", async (t) => {
  await using site = await brokerSite(PREFIX);
  const { sdir, cdir } = site;
  await using link = await site.link();
  await using sApp = await app(sdir);
  await using cApp = await app(cdir);

  await t.step("the local socket is private to its user", () => {
    assert.equal(Deno.statSync(join(sdir, "broker.sock")).mode! & 0o777, 0o600);
    assert.equal(Deno.statSync(join(cdir, "broker.sock")).mode! & 0o777, 0o600);
  });

  await t.step(
    "messages flow both ways with type, source, destination and JSON or text data",
    async () => {
      const atServer: Message[] = [];
      const atClient: Message[] = [];
      await sApp.listen("greet", collect(atServer));
      await cApp.listen("greet", collect(atClient));
      await cApp.send("server", "greet", { hello: "from alice" });
      await sApp.send("alice", "greet", "hello from the server");
      await waitUntil(() => atServer.length === 1 && atClient.length === 1, {
        what: "greetings",
        timeoutMs: 30_000,
      });
      assert.equal(atServer[0]!.type, "greet");
      assert.equal(atServer[0]!.src, "alice");
      assert.equal(atServer[0]!.dst, "server");
      assert.deepEqual(atServer[0]!.data, { hello: "from alice" });
      assert.equal(atClient[0]!.src, "server");
      assert.equal(atClient[0]!.dst, "alice");
      assert.equal(atClient[0]!.data, "hello from the server");
    },
  );

  await t.step("a 10 MB binary part arrives byte-identical", async () => {
    const big = new Uint8Array(10 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
    const blobs: Message[] = [];
    await sApp.listen("blob", collect(blobs));
    await cApp.send("server", "blob", { name: "big" }, { binary: big, ack: true });
    await waitUntil(() => blobs.length === 1, { what: "the 10 MB message", timeoutMs: 30_000 });
    assert.equal(blobs[0]!.binary.length, big.length);
    assert.ok(Buffer.from(blobs[0]!.binary).equals(Buffer.from(big)), "binary part differs");
  });

  await t.step("acknowledged sends resolve in both directions", async () => {
    await cApp.send("server", "greet", "acked", { ack: true });
    await sApp.send("alice", "greet", "acked back", { ack: true });
  });

  await t.step("a request across the link is answered by an app on the other side", async () => {
    await cApp.listen("echo", (m) => {
      cApp.send(m.src, "echo", { echoed: m.data }, { replyTo: m.id, binary: m.binary });
    });
    const resp = await sApp.request("alice", "echo", { n: 42 }, {
      binary: new Uint8Array([1, 2, 3]),
      timeoutMs: 10_000,
    });
    assert.deepEqual(resp.data, { echoed: { n: 42 } });
    assert.deepEqual([...resp.binary], [1, 2, 3]);
    assert.equal(resp.src, "alice");
  });

  await t.step("a request nobody answers times out with a clear error", async () => {
    await assert.rejects(
      sApp.request("alice", "nobody-answers", "hello?", { timeoutMs: 300 }),
      /Request ".*" to peer "alice" \(type "nobody-answers"\) timed out after 300 ms: no response/,
    );
  });

  await t.step("both connectors stop with exit code 0", async () => {
    assert.deepEqual(await link.stop(), BOTH_STOPPED);
  });
});

/** Sends `n` numbered messages of type `seq` to alice through an app on `dir`, then syncs. */
async function sendNumbered(dir: string, n: number, from = 0): Promise<void> {
  await using a = await app(dir);
  for (let i = from; i < from + n; i++) await a.send("alice", "seq", { i });
  await a.sync();
}

/** Listens for `seq` on alice and waits for `n` messages, then a little more for duplicates. */
async function receiveNumbered(dir: string, n: number): Promise<number[]> {
  await using a = await app(dir);
  const got: number[] = [];
  await a.listen("seq", (m) => void got.push((m.data as { i: number }).i));
  await waitUntil(() => got.length >= n, {
    what: `${n} messages (got ${got.length})`,
    timeoutMs: 60_000,
  });
  // a request round trip through the same connector flushes anything still in flight
  await a.sync();
  return got;
}

Deno.test("broker: a stopped client connector gets all 10,000 messages in order, once, after it restarts (and later ones behind them)", async () => {
  await using site = await brokerSite(PREFIX);
  const { sdir, cdir } = site;
  await using server = await site.server();
  {
    await using client = site.client();
    await connected(client);
    assert.equal(await stop(client), 0);
  }
  await sendNumbered(sdir, 10_000);
  await using client = site.client();
  // messages sent while the journal is being replayed queue up behind it
  const live = (async () => {
    await waitUntil(
      () => server.stderrLines.filter((l) => /client connected .*peer=alice/.test(l)).length >= 2,
      { what: "the client to reconnect", timeoutMs: 30_000 },
    );
    await sendNumbered(sdir, 2_000, 10_000);
  })();
  await connected(client);
  await live;
  // the log says how many journaled messages the reconnect sends again (not the ones in flight)
  assert.match(
    server.stderrLines.filter((l) => /client connected .*peer=alice/.test(l)).at(-1)!,
    /replayed=10000\b/,
  );
  const got = await receiveNumbered(cdir, 12_000);
  assert.deepEqual(got, Array.from({ length: 12_000 }, (_, i) => i));
  assert.equal(await stop(client), 0);
  assert.equal(await stop(server), 0);
});

Deno.test("broker: a server connector killed with SIGKILL replays its journal after restart", async () => {
  await using site = await brokerSite(PREFIX);
  {
    await using server = await site.server(["--queue-for-unknown"]);
    await sendNumbered(site.sdir, 10_000);
    server.kill("SIGKILL");
    await server.status;
  }
  await using link = await site.link();
  const got = await receiveNumbered(site.cdir, 10_000);
  assert.deepEqual(got, Array.from({ length: 10_000 }, (_, i) => i));
  assert.deepEqual(await link.stop(), BOTH_STOPPED);
});

Deno.test("broker: a full journal refuses new sends with a clear error", async () => {
  await using site = await brokerSite(PREFIX);
  await using server = await site.server(["--persist-max", "4KiB", "--queue-for-unknown"]);
  await using a = await app(site.sdir);
  for (let i = 0; i < 100; i++) await a.send("alice", "seq", "x".repeat(100)).catch(() => {});
  await assert.rejects(
    a.sync(),
    /Journal for peer "alice" is full: 4096 byte limit \(--persist-max\) reached/,
  );
  await assert.rejects(
    a.send("alice", "seq", "x".repeat(100), { ack: true }),
    /Journal for peer "alice" is full/,
  );
  assert.equal(await stop(server), 0);
});

/** Queues `n` numbered messages for alice on a server that then stops; returns its journal file. */
async function journalOf(site: BrokerSite, n: number): Promise<string> {
  await using server = await site.server(["--queue-for-unknown"]);
  await sendNumbered(site.sdir, n);
  assert.equal(await stop(server), 0);
  return join(site.sdir, "journal", "alice", "0000000001.log");
}

/**
 * Restarts the server, waits for its `report` line about the journal, then
 * connects alice and returns the `n` numbered messages she gets; both stop with 0.
 */
async function receiveAfterRestart(site: BrokerSite, report: RegExp, n: number): Promise<number[]> {
  await using server = await site.server();
  await server.waitForLine(report);
  await using client = site.client();
  await connected(client);
  const got = await receiveNumbered(site.cdir, n);
  assert.equal(await stop(client), 0);
  assert.equal(await stop(server), 0);
  return got;
}

Deno.test("broker: a truncated journal tail is reported and the records before it are delivered", async () => {
  await using site = await brokerSite(PREFIX);
  const journal = await journalOf(site, 5);
  const bytes = Deno.readFileSync(journal);
  Deno.writeFileSync(journal, bytes.subarray(0, bytes.length - 7)); // cut into the last record
  const got = await receiveAfterRestart(
    site,
    /corrupt journal tail skipped.*kept=4.*truncated record/,
    4,
  );
  assert.deepEqual(got, [0, 1, 2, 3]);
});

Deno.test("broker: a flipped byte in the middle of a journal costs only that record, and it is reported", async () => {
  await using site = await brokerSite(PREFIX);
  const journal = await journalOf(site, 1000);
  const bytes = Deno.readFileSync(journal);
  // find record 500 by its sync marker ("SKRL") and flip a byte of its payload
  let at = -1;
  for (let i = 0, n = 0; i < bytes.length - 3; i++) {
    if (
      bytes[i] === 0x53 && bytes[i + 1] === 0x4b && bytes[i + 2] === 0x52 && bytes[i + 3] === 0x4c
    ) {
      if (n++ === 500) {
        at = i;
        break;
      }
    }
  }
  bytes[at + 20]! ^= 0xff;
  Deno.writeFileSync(journal, bytes);
  const got = await receiveAfterRestart(
    site,
    new RegExp(`corrupt journal record skipped.*offset=${at} .*checksum mismatch`),
    999,
  );
  assert.deepEqual(got, Array.from({ length: 1000 }, (_, i) => i).filter((i) => i !== 500));
});

Deno.test("broker: the server refuses a name the certificate does not carry, an unknown certificate and a revoked one", async (t) => {
  await using site = await brokerSite(PREFIX, { clients: ["alice", "carol"] });
  const { pki, port, root } = site;
  await using other = await makePki({ clients: ["alice"] });
  await revoke(pki.dir, "carol");
  await using server = await site.server();
  /** Starts a client connector named `name` in ROOT/`dir` that presents `cert`. */
  const claim = (dir: string, name: string, cert: { cert: string; key: string }) =>
    startClient(pki.dir, join(root, dir), name, port, ["--cert", cert.cert, "--key", cert.key]);

  await t.step("a valid certificate for alice claiming bob", async () => {
    await using bob = claim("bob", "bob", pki.client("alice"));
    await server.waitForLine(
      /refused client.*certificate names \\"alice\\" but the connector claims the name \\"bob\\"/,
    );
    const status = await bob.status;
    assert.equal(status.code, 1);
    assert.match(bob.stderrText(), /sockkit: Refused by the server: certificate names "alice"/);
  });

  await t.step("a certificate from another CA", async () => {
    await using c = claim("stranger", "alice", other.client("alice"));
    await server.waitForLine(/refused client.*(not allowed|handshake failed)/);
    await c.waitForLine(/cannot reach server|peer disconnected/);
    assert.ok(!c.stderrText().includes("connected to server"));
  });

  await t.step("a revoked certificate", async () => {
    await using c = startClient(pki.dir, join(root, "carol"), "carol", port);
    await server.waitForLine(/refused client.*CN=carol.*revoked/);
    // a revocation is final: the client exits 1 with the reason instead of retrying forever
    assert.equal((await c.status).code, 1);
    assert.match(
      c.stderrText(),
      /Refused by the server: certificate of "carol" refused: certificate CN=carol was revoked/,
    );
    assert.ok(!c.stderrText().includes("connected to server"));
  });
  assert.equal(await stop(server), 0);
});

async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  using f = await Deno.open(path);
  for await (const chunk of f.readable) h.update(chunk);
  return h.digest("hex");
}

Deno.test("broker: a 200 MB file and a directory arrive intact where the receiver mapped their type; unmapped types are refused", async () => {
  await using site = await brokerSite(PREFIX);
  const files = join(site.root, "received");
  await using link = await site.link(["--file-dir", `files=${files}`]);
  await using a = await app(site.cdir);

  // 200 MB, each MiB different
  const big = join(site.root, "big.bin");
  {
    using f = await Deno.open(big, { write: true, create: true });
    const block = new Uint8Array(1024 * 1024);
    for (let i = 0; i < block.length; i += 65536) {
      crypto.getRandomValues(block.subarray(i, i + 65536));
    }
    for (let i = 0; i < 200; i++) {
      new DataView(block.buffer).setUint32(0, i);
      let w = 0;
      while (w < block.length) w += await f.write(block.subarray(w));
    }
  }
  const r = await a.sendFile("server", "files", big);
  assert.equal(r.path, join(files, "big.bin"));
  assert.equal(r.bytes, 200 * 1024 * 1024);
  assert.equal(await sha256File(r.path), await sha256File(big));
  await Deno.remove(big);
  await Deno.remove(r.path);

  // a directory with nested files (and an empty one)
  const tree = join(site.root, "tree");
  await Deno.mkdir(join(tree, "sub", "deeper"), { recursive: true });
  await Deno.writeTextFile(join(tree, "a.txt"), "alpha\n");
  await Deno.writeFile(join(tree, "sub", "b.bin"), crypto.getRandomValues(new Uint8Array(50_000)));
  await Deno.writeTextFile(join(tree, "sub", "deeper", "c.txt"), "gamma ".repeat(400_000));
  await Deno.writeFile(join(tree, "empty"), new Uint8Array(0));
  const d = await a.sendFile("server", "files", tree);
  assert.equal(d.path, join(files, "tree"));
  assert.equal(d.files, 4);
  assert.equal(d.dir, true);
  for (const rel of ["a.txt", "sub/b.bin", "sub/deeper/c.txt", "empty"]) {
    assert.equal(await sha256File(join(d.path, rel)), await sha256File(join(tree, rel)), rel);
  }
  // nothing half-written is left behind
  assert.deepEqual([...Deno.readDirSync(files)].map((e) => e.name), ["tree"]);

  await assert.rejects(
    a.sendFile("server", "photos", join(tree, "a.txt")),
    /No directory is mapped for file type "photos" on this connector \(start it with --file-dir photos=PATH\)/,
  );
  assert.deepEqual(await link.stop(), BOTH_STOPPED);
});

Deno.test("broker: heartbeats detect a dead link on both sides", async () => {
  await using site = await brokerSite(PREFIX);
  const hb = ["--heartbeat", "200ms"];
  await using link = await site.link(hb, hb);
  const { server, client } = link;
  // a frozen client: the server drops the link
  Deno.kill(client.pid, "SIGSTOP");
  await server.waitForLine(/peer disconnected .*peer=alice reason=.*heartbeat timeout/);
  Deno.kill(client.pid, "SIGCONT");
  // the client reconnects (a second "connected to server")
  await waitUntil(
    () => client.stderrLines.filter((l) => /connected to server/.test(l)).length >= 2,
    { what: "the client to reconnect", timeoutMs: 30_000 },
  );
  // a frozen server: the client drops the link
  Deno.kill(server.pid, "SIGSTOP");
  await client.waitForLine(/peer disconnected .*peer=server reason=.*heartbeat timeout/);
  Deno.kill(server.pid, "SIGCONT");
  assert.deepEqual(await link.stop(), BOTH_STOPPED);
});

Deno.test("broker: send, listen and request from the shell; duplicates dropped; oversized messages refused", async () => {
  await using site = await brokerSite(PREFIX);
  const { sdir, cdir } = site;
  await using link = await site.link();

  await using listener = spawnCli(appArgs("listen", sdir, "note", ["--count", "2"]));
  await listener.waitForLine(/listening for "note"/);
  const bin = join(site.root, "part.bin");
  await Deno.writeFile(bin, new Uint8Array([1, 2, 3, 4, 5]));
  const sent = await runCli(
    appArgs("send", cdir, "note", ["--data", '{"n":1}', "--binary-file", bin, "--ack"]),
  );
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(sent.stdout, /^acknowledged \S+$/m);
  assert.equal(
    (await runCli(appArgs("send", cdir, "note", ["--text", "two"]))).code,
    0,
  );
  assert.equal((await listener.status).code, 0);
  const lines = listener.stdoutLines.map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.type, l.src, l.dst, l.data, l.binaryBytes]), [
    ["note", "alice", "server", { n: 1 }, 5],
    ["note", "alice", "server", "two", undefined],
  ]);

  await using echo = spawnCli(appArgs("listen", cdir, "echo", ["--echo"]));
  await echo.waitForLine(/listening for "echo"/);
  const r = await runCli(appArgs("request", sdir, "echo", ["--to", "alice", "--text", "ping"]));
  assert.equal(r.code, 0, r.stderr);
  const answer = JSON.parse(r.stdout);
  assert.equal(answer.data, "ping");
  assert.equal(answer.src, "alice");
  const t = await runCli(
    appArgs("request", sdir, "silence", ["--to", "alice", "--timeout", "200ms"]),
  );
  assert.equal(t.code, 1);
  assert.match(
    t.stderr,
    /^sockkit: Request ".*" to peer "alice" \(type "silence"\) timed out after 200 ms: no response\n$/,
  );
  echo.kill("SIGTERM");
  assert.equal((await echo.status).code, 0);

  // the same id twice is delivered once
  await using a = await app(cdir);
  await using s = await app(sdir);
  const got: Message[] = [];
  await s.listen("dup", collect(got));
  await a.send("server", "dup", "first", { id: "same-id", ack: true });
  await a.send("server", "dup", "again", { id: "same-id", ack: true });
  await a.send("server", "dup", "other", { id: "other-id", ack: true });
  await waitUntil(() => got.length >= 2, { what: "two distinct messages", timeoutMs: 30_000 });
  await s.sync();
  assert.deepEqual(got.map((m) => m.data), ["first", "other"]);

  // a message over the frame cap is refused with the limit in the error
  await assert.rejects(
    a.send("server", "big", undefined, { binary: new Uint8Array(17 * 1024 * 1024), ack: true }),
    /too large: \d+ bytes exceeds the 16777216 byte limit/,
  );
  assert.deepEqual(await link.stop(), BOTH_STOPPED);
});

Deno.test("broker: acknowledged messages of types '.', '..' and 'x.handed' are queued inside the queues directory and delivered after the server restarts", async () => {
  await using site = await brokerSite(PREFIX);
  const { sdir, cdir } = site;
  const types = [".", "..", "x.handed", "x"];
  {
    await using link = await site.link();
    for (const type of types) {
      const sent = await runCli(appArgs("send", cdir, type, ["--text", `for ${type}`, "--ack"]));
      assert.equal(sent.code, 0, sent.stderr);
    }
    assert.deepEqual(await link.stop(), BOTH_STOPPED);
  }
  // nothing of a queue lands beside the state directory's own entries
  const top = [...Deno.readDirSync(sdir)].map((e) => e.name).filter((n) => n.endsWith(".log"));
  assert.deepEqual(top, []);
  await using server = await site.server();
  await using s = await app(sdir);
  const got: Message[] = [];
  for (const type of types) await s.listen(type, collect(got));
  await waitUntil(() => got.length >= types.length, {
    what: "the four queued messages after the restart",
    timeoutMs: 20_000,
  });
  assert.deepEqual(
    got.map((m) => [m.type, m.data]).sort(),
    types.map((t) => [t, `for ${t}`]).sort(),
  );
  assert.equal(await stop(server), 0);
});
