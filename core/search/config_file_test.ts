import assert from "node:assert/strict";
import { loadSearchConfig } from "./config_file.ts";
import { ConfigError, parse } from "../config/mod.ts";

const KEYS = ["linuxpath", "reread_on_query", "ssl_enabled", "port"];

Deno.test("loadSearchConfig() finds the search keys among unrelated entries", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/server.conf`;
    await Deno.writeTextFile(
      path,
      [
        "# a comment",
        "; another comment",
        "linuxpath=/srv/data/200k.txt",
        "reread_on_query=True",
        "just some odd line",
        "unrelated_key = 12",
        "[database]",
        "user=postgres",
        "PORT=5432",
        "[server]",
        "SSL_ENABLED=false",
        "port=44446",
        "timeout = 30",
      ].join("\n"),
    );
    const cfg = await loadSearchConfig(path, KEYS);
    assert.equal(cfg.linuxpath, "/srv/data/200k.txt");
    assert.equal(parse.boolean(cfg.reread_on_query), true);
    assert.equal(parse.boolean(cfg.ssl_enabled), false);
    // [database] PORT is not the search server's; [server] port is.
    assert.equal(parse.port(cfg.port), 44446);
    assert.equal(cfg.user, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadSearchConfig() accepts True/False/true/false/1/0 booleans", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    for (
      const [raw, want] of [["True", true], ["False", false], ["true", true], ["false", false], [
        "1",
        true,
      ], ["0", false]] as const
    ) {
      await t.step(raw, async () => {
        const path = `${dir}/c.ini`;
        await Deno.writeTextFile(path, `linuxpath=/x\nreread_on_query=${raw}\n`);
        assert.equal(parse.boolean((await loadSearchConfig(path, KEYS)).reread_on_query), want);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadSearchConfig() of a missing file is a ConfigError naming it", async () => {
  await assert.rejects(loadSearchConfig("/nonexistent/search.conf", KEYS), (err) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /\/nonexistent\/search\.conf/);
    return true;
  });
});
