/**
 * A search config file as the replaced task's servers keep it: the server's
 * keys in `[DEFAULT]`, unrelated sections with their own host and port, and
 * the certificate under the names such servers use.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort, runCli, spawnCli, tempDir } from "./harness/mod.ts";
import { opensslSelfSigned, pythonTls, readmeCert, tlsSearchQuery } from "./_openssl.ts";

for (const [certKey, keyKey] of [["ssl_certfile", "ssl_keyfile"], ["cert_path", "key_path"]]) {
  Deno.test(`search --config ignores [database] host/port and reads ${certKey}/${keyKey}`, async () => {
    await using tmp = await tempDir("sockkit-search-config-");
    const dir = tmp.path;
    const cert = await readmeCert(dir, "cert");
    const words = join(dir, "200k.txt");
    await Deno.writeTextFile(words, "apple\n");
    const port = freePort();
    const config = join(dir, "config.ini");
    await Deno.writeTextFile(
      config,
      [
        "[DEFAULT]",
        "ssl_enabled = True",
        `linuxpath = ${words}`,
        "reread_on_query = False",
        `port = ${port}`,
        `${certKey} = ${cert.cert}`,
        `${keyKey} = ${cert.key}`,
        "[database]",
        "host = db.internal",
        "port = 5432",
        "[cache]",
        "host = cache.internal",
      ].join("\n") + "\n",
    );
    await using srv = spawnCli(["search", "serve", "--config", config]);
    const m = await srv.waitForLine(/listening on (\S+):(\d+) \(TLS/, 30_000);
    assert.deepEqual([m[1], m[2]], ["0.0.0.0", String(port)]);
    const q = await tlsSearchQuery(port, cert.cert, "apple");
    assert.equal(q.code, 0, q.stderr);
    assert.equal(q.stdout.trim(), "STRING EXISTS");
  });
}

Deno.test("search serve run in the replaced server's directory uses its cert.pem/key.pem with ssl_enabled = True", async () => {
  await using tmp = await tempDir("sockkit-search-seed-");
  const dir = tmp.path;
  // The replaced server's README: this command, run in the project directory.
  await opensslSelfSigned(dir, { cert: "cert.pem", key: "key.pem", keyType: "rsa:4096" });
  await Deno.writeTextFile(join(dir, "200k.txt"), "apple\n");
  const port = freePort();
  // Its config.ini as the README shows it, inline comments included.
  await Deno.writeTextFile(
    join(dir, "config.ini"),
    [
      "[DEFAULT]",
      "ssl_enabled = True             # IMPORTANT: Set to True for SSL/TLS connections",
      `linuxpath = ${join(dir, "200k.txt")}      # Path to your 200k.txt`,
      "reread_on_query = False        # Set to True to re-read the file on every query",
      `port = ${port}`,
    ].join("\n") + "\n",
  );
  // Before: exit 2, 'Cannot read server certificate "certs/server.pem"'.
  await using srv = spawnCli(["search", "serve", "--config", "config.ini"], { cwd: dir });
  await srv.waitForLine(/listening on \S+:\d+ \(TLS/, 30_000);
  assert.match(srv.stderrText(), /cert\.pem/);
  const reply = await pythonTls(port, { ca: join(dir, "cert.pem"), send: "apple", until: "\n" });
  assert.equal(reply, "STRING EXISTS\n");
});

// The replaced server read config.ini with Python's configparser: `#`/`;` inside a value is part of
// the path and `key: value` is a key. Before: npm:ini served the decoy "w" for the first two and
// "No file to search" for the third.
for (
  const [name, line] of [
    ["w#1.txt", (p: string) => `linuxpath=${p}`],
    ["w;2.txt", (p: string) => `linuxpath=${p}`],
    ["words.txt", (p: string) => `linuxpath: ${p}`],
  ] as const
) {
  Deno.test(`search serve --config reads "${line("DIR/" + name)}" as configparser does`, async () => {
    await using tmp = await tempDir("sockkit-search-configparser-");
    const dir = tmp.path;
    await Deno.writeTextFile(join(dir, "w"), "decoy\n");
    await Deno.writeTextFile(join(dir, name), "real\n");
    const config = join(dir, "config.ini");
    await Deno.writeTextFile(
      config,
      `[DEFAULT]\r\n${line(join(dir, name))}\r\nSSL_ENABLED : False\r\nport=0\r\n`,
    );
    await using srv = spawnCli(["search", "serve", "--config", config, "--host", "127.0.0.1"]);
    const m = await srv.waitForLine(/listening on \S+:(\d+) /, 30_000);
    const q = (s: string) => runCli(["search", "query", s, "--port", m[1]!]);
    assert.equal((await q("real")).stdout.trim(), "STRING EXISTS", srv.stderrText());
    assert.equal((await q("decoy")).stdout.trim(), "STRING NOT FOUND");
  });
}

Deno.test("search serve --config with an unclosed [section names the file and line, exit 2", async () => {
  await using tmp = await tempDir("sockkit-search-configparser-");
  const config = join(tmp.path, "config.ini");
  await Deno.writeTextFile(config, "[DEFAULT]\nlinuxpath = /x\n[search\nport = 1\n");
  const r = await runCli(["search", "serve", "--config", config], { timeoutMs: 30_000 });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /config\.ini": line 3: unclosed section header/);
});

Deno.test("search --config reads every key its settings name: metrics_port serves /healthz, a bad max_per_address is refused", async () => {
  await using tmp = await tempDir("sockkit-search-config-");
  const words = join(tmp.path, "words.txt");
  await Deno.writeTextFile(words, "apple\n");
  const metricsPort = freePort();
  const config = join(tmp.path, "server.conf");
  const conf = [`linuxpath = ${words}`, `port = ${freePort()}`, `metrics_port = ${metricsPort}`];
  await Deno.writeTextFile(config, conf.join("\n") + "\n");
  await using srv = spawnCli(["search", "serve", "--config", config]);
  await srv.waitForLine(/listening on/, 30_000);
  // Before: metrics_port (like max_per_address and ipv6_prefix) was dropped with the file's unrelated keys.
  const res = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
  assert.equal(res.status, 200);
  await res.body?.cancel();

  await Deno.writeTextFile(config, [...conf, "max_per_address = many"].join("\n") + "\n");
  const r = await runCli(["search", "serve", "--config", config]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /Invalid value for key "max_per_address" in config file .*server\.conf/);
});
