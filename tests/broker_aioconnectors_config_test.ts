import assert from "node:assert/strict";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { freePort, makePki, runCli, spawnCli } from "./harness/mod.ts";
import { connected } from "./broker_helpers.ts";

Deno.test("broker serve and connect start from aioconnectors' own JSON config files", async () => {
  await using pki = await makePki({ clients: ["client1"] });
  const tmp = await Deno.makeTempDir({ prefix: "sockkit-aio-config-" });
  try {
    const port = freePort();
    const serverConf = join(tmp, "server.json");
    const clientConf = join(tmp, "client.json");
    // the README's ConnectorManager examples, with this test's paths and port
    await Deno.writeTextFile(
      serverConf,
      JSON.stringify({
        certificates_directory_path: null,
        connector_files_dirpath: join(tmp, "server-state"),
        disk_persistence_recv: true,
        disk_persistence_send: ["any"],
        file_type2dirpath: { any: join(tmp, "files") },
        is_server: true,
        max_size_persistence_path: 1000000000,
        recv_message_types: ["any"],
        send_message_types: ["any"],
        server_sockaddr: ["127.0.0.1", port],
        silent: true,
        use_ssl: true,
        client_bind_ip: "10.0.0.5",
      }),
    );
    await Deno.writeTextFile(
      clientConf,
      JSON.stringify({
        client_name: "client1",
        connector_files_dirpath: join(tmp, "client-state"),
        is_server: false,
        server_sockaddr: ["127.0.0.1", port],
        send_message_types: ["any"],
        recv_message_types: ["any"],
      }),
    );
    await using server = spawnCli(["broker", "serve", "--config", serverConf, "--certs", pki.dir]);
    const warn = await server.waitForLine(/WARN .*ignored keys.*/, 30_000);
    assert.match(warn[0], /client_bind_ip/);
    const m = await server.waitForLine(
      /INFO\s+listening .*address=127\.0\.0\.1 port=(\d+) socket=(\S+)/,
    );
    assert.equal(Number(m[1]), port);
    assert.equal(m[2], join(tmp, "server-state", "broker.sock"));

    await using client = spawnCli([
      "broker",
      "connect",
      "--config",
      clientConf,
      "--certs",
      pki.dir,
    ]);
    await connected(client);
    const sent = await runCli([
      "broker",
      "send",
      "--dir",
      join(tmp, "client-state"),
      "--type",
      "any",
      "--text",
      "hello",
      "--ack",
    ]);
    assert.equal(sent.code, 0, sent.stderr);

    // the server's file used for a client is refused with the command to use
    const wrong = await runCli(["broker", "connect", "--config", serverConf, "--certs", pki.dir]);
    assert.equal(wrong.code, 2);
    assert.match(
      wrong.stderr,
      /has "is_server": true: start it with "sockkit broker serve --config /,
    );

    client.kill("SIGTERM");
    assert.equal((await client.status).code, 0);
    server.kill("SIGTERM");
    assert.equal((await server.status).code, 0);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("broker config-template prints a TOML file that broker serve accepts once uncommented", async () => {
  await using pki = await makePki();
  const tmp = await Deno.makeTempDir({ prefix: "sockkit-broker-template-" });
  try {
    const r = await runCli(["broker", "config-template"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      JSON.stringify(parseToml(r.stdout)),
      `{"broker":{}}`,
      "every setting is commented out",
    );
    for (const key of ["port", "host", "dir", "persist_max", "file_dirs", "server", "fsync"]) {
      assert.match(r.stdout, new RegExp(`^# ${key} = `, "m"), key);
    }
    // uncomment every line that has a default, point it at this test's port and state dir
    const port = freePort();
    const conf = r.stdout.split("\n").map((line) => {
      const m = /^# (\w+) = (.+)$/.exec(line);
      if (!m || m[2] === '""') return line;
      if (m[1] === "port") return `port = ${port}`;
      if (m[1] === "dir") return `dir = ${JSON.stringify(join(tmp, "state"))}`;
      if (m[1] === "certs") return `certs = ${JSON.stringify(pki.dir)}`;
      if (m[1] === "host") return `host = "127.0.0.1"`;
      return `${m[1]} = ${m[2]}`;
    }).join("\n");
    const path = join(tmp, "broker.toml");
    await Deno.writeTextFile(path, conf);
    await using s = spawnCli(["broker", "serve", "--config", path]);
    const m = await s.waitForLine(/INFO\s+listening .*port=(\d+)/, 30_000);
    assert.equal(Number(m[1]), port);
    s.kill("SIGTERM");
    assert.equal((await s.status).code, 0);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
