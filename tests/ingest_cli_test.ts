import assert from "node:assert/strict";
import { join } from "node:path";
import { connect, type Connection } from "../core/net/mod.ts";
import { loadClientTls } from "../core/pki/mod.ts";
import { collectLines, ingestFixture } from "./ingest_fixture.ts";
import {
  assertTlsCapOfTwo,
  freePort,
  makePki,
  ownAddress,
  runCli,
  spawnCli,
  startIngest,
  startRedis,
  tempDir,
  waitUntil,
} from "./harness/mod.ts";

Deno.test("ingest CLI: the replaced daemon's TOML config starts the server; SIGTERM under load stores every received object once, exit 0", async () => {
  await using redis = await startRedis();
  await using pki = await makePki({ clients: ["alice", "bob", "carol"] });
  const dir = await Deno.makeTempDir({ prefix: "sockkit-ingest-cli-" });
  try {
    // A directory of daemon.conf-style files, merged.
    const conf = join(dir, "conf");
    await Deno.mkdir(conf);
    const port = freePort();
    await Deno.writeTextFile(
      join(conf, "10-daemon.conf"),
      `[daemon]\nhost = "127.0.0.1"\nport = ${port}\n\n[path]\n` +
        `server_crt_path = "${pki.paths.serverCert}"\nserver_key_path = "${pki.paths.serverKey}"\n` +
        `client_certs_path = "${pki.paths.allowList}"\n`,
    );
    await Deno.writeTextFile(
      join(conf, "20-redis.conf"),
      `[redis]\nhost = "127.0.0.1"\nport = ${redis.port}\ndb = 0\n`,
    );
    await using proc = spawnCli([
      "ingest",
      "--config",
      conf,
      "--layout",
      "stream",
      "--ack",
      "--spool-dir",
      join(dir, "spool"),
    ]);
    await proc.waitForLine(new RegExp(`listening on 127\\.0\\.0\\.1:${port}`), 30_000);

    const names = ["alice", "bob", "carol"];
    const conns: Connection[] = [];
    const acks: ReturnType<typeof collectLines>[] = [];
    for (const name of names) {
      const tls = await loadClientTls({ ca: pki.paths.ca, ...pki.client(name) });
      const c = await connect({ host: "127.0.0.1", port, tls });
      conns.push(c);
      acks.push(collectLines(c));
    }
    // Each client streams objects until the server closes its connection.
    const writers = conns.map(async (c, k) => {
      for (let i = 0; c.writable; i += 500) {
        let chunk = "";
        for (let j = i; j < i + 500; j++) chunk += JSON.stringify({ c: k, seq: j });
        await c.write(chunk);
      }
    });
    await waitUntil(() => acks.every((a) => a.lastOk() >= 2000), {
      timeoutMs: 30_000,
      what: "load to be flowing",
    });
    proc.kill("SIGTERM");
    const status = await proc.status;
    await Promise.all(writers);
    await Promise.all(conns.map((c) => c.closed));
    assert.equal(status.code, 0, proc.stderrText());
    assert.match(proc.stderrText(), /draining/);

    const finalAcks = acks.map((a) => a.lastOk());
    await using client = await redis.client();
    const entries = await client.xRange("ingest", "-", "+");
    assert.equal(entries.length, finalAcks.reduce((a, b) => a + b, 0));
    const seen = names.map(() => [] as number[]);
    for (const e of entries) {
      const o = JSON.parse(e.message.data!) as { c: number; seq: number };
      seen[o.c]!.push(o.seq);
      assert.equal(e.message.client, names[o.c]);
    }
    for (let k = 0; k < names.length; k++) {
      assert.equal(seen[k]!.length, finalAcks[k]);
      seen[k]!.forEach((seq, i) => {
        if (seq !== i) assert.fail(`client ${k}: entry ${i} holds seq ${seq}`);
      });
    }
    for (const c of conns) c.destroy();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ingest CLI: a bad config value is a one-line error and exit code 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const conf = join(dir, "daemon.conf");
    await Deno.writeTextFile(conf, `[daemon]\nport = "eleven"\n`);
    const r = await runCli(["ingest", "--config", conf]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /daemon\.port.*daemon\.conf.*expected a port number/);
    // a largest object of 0 bytes would reject every object
    const zero = await runCli(["ingest", "serve", "--max-payload", "0"]);
    assert.equal(zero.code, 2);
    assert.match(
      zero.stderr,
      /Invalid value for flag --max-payload: expected a byte size above zero/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ingest CLI: the replaced daemon's conf/log.conf [log] filepath is where the log goes", async () => {
  await using redis = await startRedis();
  await using pki = await makePki({ clients: ["alice"] });
  await using dir = await tempDir("sockkit-ingest-log-");
  const conf = join(String(dir), "conf");
  await Deno.mkdir(conf);
  const port = freePort();
  // The replaced daemon's own files, indented as it shipped them.
  await Deno.writeTextFile(
    join(conf, "daemon.conf"),
    `[daemon]\n    host = "127.0.0.1"\n    port = ${port}\n`,
  );
  await Deno.writeTextFile(join(conf, "log.conf"), `[log]\n    filepath = "main.log"\n`);
  await Deno.writeTextFile(
    join(conf, "path.conf"),
    `[path]\n    server_crt_path = "${pki.paths.serverCert}"\n` +
      `    server_key_path = "${pki.paths.serverKey}"\n` +
      `    client_certs_path = "${pki.paths.allowList}"\n`,
  );
  await Deno.writeTextFile(
    join(conf, "storage.conf"),
    `[redis]\n    host = "127.0.0.1"\n    port = ${redis.port}\n    db = 0\n`,
  );
  await using proc = spawnCli(
    ["ingest", "--config", "conf", "--spool-dir", "spool"],
    { cwd: String(dir) },
  );
  // Relative to the working directory, as the daemon opened it.
  const log = join(String(dir), "main.log");
  await waitUntil(
    () => Deno.readTextFile(log).then((t) => t.includes(`listening on 127.0.0.1:${port}`)),
    { timeoutMs: 30_000, what: "the listening line in main.log" },
  );
  proc.kill("SIGTERM");
  assert.equal((await proc.status).code, 0);
  assert.match(await Deno.readTextFile(log), /stopped/);
  assert.doesNotMatch(proc.stderrText(), /listening/);
});

Deno.test("ingest send CLI: sends JSON, arrays and NDJSON from a file and reports the acknowledged count", async () => {
  await using f = await ingestFixture({ ack: true });
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "data.ndjson");
    await Deno.writeTextFile(file, '{"s1":1}\n{"s2":{"f":"v"}}\n[{"s3":3},{"s4":4}]{"s5":5}');
    const r = await runCli([
      "ingest",
      "send",
      file,
      "--host",
      "127.0.0.1",
      "--port",
      String(f.server.port),
      "--certs",
      f.pki.dir,
      "--client",
      "alice",
      "--ack",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /sent 5 objects, 5 durably accepted: 5 stored in Redis$/m);
    await using c = await f.redis.client();
    assert.deepEqual(await c.mGet(["s1", "s3", "s4", "s5"]), ["1", "3", "4", "5"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ingest bench CLI --json prints one line of rows and loses nothing", async () => {
  const r = await runCli([
    "ingest",
    "bench",
    "--clients",
    "3",
    "--objects",
    "3000",
    "--no-anchor",
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as {
    service: string;
    rows: Array<{ figure: string; value: number; unit: string }>;
  };
  assert.equal(out.service, "ingest");
  assert.ok(out.rows.every((row) => typeof row.value === "number" && row.unit));
  assert.equal(out.rows.find((row) => row.figure.startsWith("objects lost"))?.value, 0);
  assert.ok(out.rows[0]!.value > 0);
});

Deno.test({
  name:
    "ingest serve closes connections over --max-per-address from one address before any handshake; a held one completes its handshake",
  ignore: ownAddress === undefined,
  fn: async () => {
    await using redis = await startRedis();
    await using pki = await makePki({ clients: ["alice"] });
    await using srv = await startIngest(pki, redis.url, ["--max-per-address", "2"], {
      host: "0.0.0.0",
    });
    // Before: no cap; one address could open connections until the daemon ran out of descriptors.
    await assertTlsCapOfTwo(srv, pki, "alice");
    srv.kill("SIGTERM");
    assert.equal((await srv.status).code, 0);
  },
});
