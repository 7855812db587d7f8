import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertTlsCapOfTwo,
  freePort,
  makePki,
  ownAddress,
  runCli,
  spawnCli,
  startDaemon,
  tempDir,
} from "./harness/mod.ts";

Deno.test("broker serve: reads the [broker] section of --config, environment overrides it, bad values exit 2 in one line", async () => {
  await using pki = await makePki();
  const tmp = await Deno.makeTempDir({ prefix: "sockkit-broker-config-" });
  try {
    const port = freePort();
    const conf = join(tmp, "broker.toml");
    await Deno.writeTextFile(
      conf,
      `[broker]\nport = 1\nhost = "127.0.0.1"\ndir = "${
        join(tmp, "from-file")
      }"\ncerts = "${pki.dir}"\nfile_dirs = ["files=${join(tmp, "in")}"]\n`,
    );
    {
      await using s = spawnCli(["broker", "serve", "--config", conf], {
        env: { SOCKKIT_BROKER_PORT: String(port) },
      });
      const m = await s.waitForLine(
        /INFO\s+listening .*address=127\.0\.0\.1 port=(\d+) socket=(\S+)/,
      );
      assert.equal(Number(m[1]), port);
      assert.equal(m[2], join(tmp, "from-file", "broker.sock"));
      s.kill("SIGTERM");
      assert.equal((await s.status).code, 0);
    }
    await Deno.writeTextFile(conf, `[broker]\npersist_max = "lots"\n`);
    const r = await runCli(["broker", "serve", "--config", conf, "--certs", pki.dir]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /broker\.persist_max.*broker\.toml.*expected a byte size/);
    // a cap of 0 would refuse every message (--max-frame: every frame, the link's hello too)
    for (const [key, flag] of [["persist_max", "--persist-max"], ["max_frame", "--max-frame"]]) {
      await Deno.writeTextFile(conf, `[broker]\n${key} = 0\n`);
      const zero = await runCli(["broker", "serve", "--config", conf, "--certs", pki.dir]);
      assert.equal(zero.code, 2, flag);
      assert.match(zero.stderr, new RegExp(`broker\\.${key}.*expected a byte size above zero`));
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test({
  name:
    "broker serve closes connections over --max-per-address from one address before any handshake; a held one completes its handshake",
  ignore: ownAddress === undefined,
  fn: async () => {
    await using pki = await makePki({ clients: ["alice"] });
    await using tmp = await tempDir("sockkit-broker-cap-");
    await using srv = await startDaemon([
      "broker",
      "serve",
      "--certs",
      pki.dir,
      "--dir",
      tmp.path,
      "--max-per-address",
      "2",
    ], { host: "0.0.0.0" });
    // Before: no cap; one address could open connections until the server ran out of descriptors.
    await assertTlsCapOfTwo(srv, pki, "alice");
    srv.kill("SIGTERM");
    assert.equal((await srv.status).code, 0);
  },
});

Deno.test("broker serve on a state directory another broker uses stops at once, naming that process, and touches nothing", async () => {
  await using pki = await makePki({ clients: ["alice"] });
  await using tmp = await tempDir("sockkit-broker-twice-");
  await using srv = await startDaemon(["broker", "serve", "--certs", pki.dir, "--dir", tmp.path]);
  const before = [...Deno.readDirSync(tmp.path)].map((e) => e.name).sort();
  const second = await runCli([
    "broker",
    "serve",
    "--certs",
    pki.dir,
    "--dir",
    tmp.path,
    "--port",
    String(freePort()),
  ]);
  assert.notEqual(second.code, 0);
  assert.match(
    second.stderr,
    new RegExp(
      `Cannot use the broker state directory "${tmp.path}": another process \\(pid ${srv.pid}: [^\\n]*deno[^\\n]*\\) is using it`,
    ),
  );
  assert.deepEqual([...Deno.readDirSync(tmp.path)].map((e) => e.name).sort(), before);
  srv.kill("SIGTERM");
  assert.equal((await srv.status).code, 0);
});
