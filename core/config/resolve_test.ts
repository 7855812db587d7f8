import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError, loadConfigFile, lookup, parse, resolveSettings } from "./mod.ts";

const SPECS = {
  port: {
    parse: parse.port,
    flag: "--port",
    env: "SOCKKIT_X_PORT",
    file: "daemon.port",
    default: 1191,
  },
  host: { parse: parse.string, env: "SOCKKIT_X_HOST", file: "daemon.host" },
};

Deno.test("resolveSettings() takes flags over environment over file over defaults", async (t) => {
  const file = { daemon: { port: 3000, host: "file-host" } };
  const cases = [
    { name: "flag wins", flags: { port: "4000" }, env: { SOCKKIT_X_PORT: "5000" }, port: 4000 },
    { name: "env beats file", flags: {}, env: { SOCKKIT_X_PORT: "5000" }, port: 5000 },
    { name: "file beats default", flags: {}, env: {}, port: 3000 },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const s = resolveSettings(SPECS, { flags: c.flags, env: c.env, file, filePath: "x.toml" });
      assert.equal(s.port, c.port);
      assert.equal(s.host, "file-host");
    });
  }
  await t.step("default when nothing sets it; optional stays undefined", () => {
    const s = resolveSettings(SPECS, { flags: {}, env: {} });
    assert.equal(s.port, 1191);
    assert.equal(s.host, undefined);
  });
});

Deno.test("resolveSettings() names the key, its source and the expectation in one line", async (t) => {
  const cases = [
    {
      sources: { flags: { port: "70000" }, env: {} },
      message: 'Invalid value for flag --port: expected a port number from 0 to 65535, got "70000"',
    },
    {
      sources: { flags: {}, env: { SOCKKIT_X_PORT: "abc" } },
      message:
        'Invalid value for environment variable SOCKKIT_X_PORT: expected a port number from 0 to 65535, got "abc"',
    },
    {
      sources: { flags: {}, env: {}, file: { daemon: { port: -1 } }, filePath: "conf/daemon.conf" },
      message:
        'Invalid value for key "daemon.port" in config file "conf/daemon.conf": expected a port number from 0 to 65535, got -1',
    },
  ];
  for (const c of cases) {
    await t.step(c.message.slice(0, 60), () => {
      assert.throws(() => resolveSettings(SPECS, c.sources), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.exitCode, 2);
        assert.equal(err.message, c.message);
        assert.ok(!err.message.includes("\n"));
        return true;
      });
    });
  }
});

Deno.test("parsers accept the documented forms and reject others", async (t) => {
  await t.step("boolean", () => {
    for (const v of ["True", "true", "1", "yes", "on", true]) assert.equal(parse.boolean(v), true);
    for (const v of ["False", "false", "0", "no", "off", false]) {
      assert.equal(parse.boolean(v), false);
    }
    assert.throws(() => parse.boolean("maybe"), /expected true or false, got "maybe"/);
  });
  await t.step("bytes", () => {
    assert.equal(parse.bytes("1048576"), 1048576);
    assert.equal(parse.bytes("512KiB"), 512 * 1024);
    assert.equal(parse.bytes("1MiB"), 1024 * 1024);
    assert.equal(parse.bytes("2g"), 2 * 1024 ** 3);
    assert.throws(() => parse.bytes("lots"), /expected a byte size/);
    assert.equal(parse.bytes("0"), 0);
    assert.equal(parse.positiveBytes("1k"), 1024);
    for (const zero of ["0", "0KiB", "0.0001", 0]) {
      assert.throws(() => parse.positiveBytes(zero), /expected a byte size above zero/);
    }
  });
  await t.step("duration", () => {
    assert.equal(parse.duration("250ms"), 250);
    assert.equal(parse.duration("1.5s"), 1500);
    assert.equal(parse.duration("2m"), 120_000);
    assert.equal(parse.duration("3"), 3000);
    assert.throws(() => parse.duration("soon"), /expected a duration/);
  });
  await t.step("hostPort", () => {
    assert.deepEqual(parse.hostPort()("example.org:1191"), { host: "example.org", port: 1191 });
    assert.deepEqual(parse.hostPort()("[::1]:443"), { host: "::1", port: 443 });
    assert.deepEqual(parse.hostPort(10673)("broker.lan"), { host: "broker.lan", port: 10673 });
    assert.throws(() => parse.hostPort()("example.org"), /expected HOST:PORT, got "example.org"/);
    assert.throws(() => parse.hostPort()(":80"), /expected HOST:PORT/);
    assert.throws(() => parse.hostPort()("h:70000"), /expected a port number/);
  });
  await t.step("oneOf, integer and list", () => {
    assert.equal(parse.oneOf(["kv", "stream"])("kv"), "kv");
    assert.throws(
      () => parse.oneOf(["kv", "stream"])("hash"),
      /expected one of kv, stream, got "hash"/,
    );
    assert.equal(parse.integer(1, 10)("7"), 7);
    assert.throws(() => parse.integer(1, 10)("11"), /expected an integer from 1 to 10/);
    assert.deepEqual(parse.list(parse.port)("1, 2,3"), [1, 2, 3]);
  });
});

Deno.test("loadConfigFile() reads TOML, INI and a directory of files merged in name order", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const toml = join(dir, "daemon.toml");
    await Deno.writeTextFile(toml, '[daemon]\nhost = "0.0.0.0"\nport = 1191\n');
    assert.equal(lookup(await loadConfigFile(toml), "daemon.port"), 1191);

    const ini = join(dir, "search.ini");
    await Deno.writeTextFile(ini, "unrelated=1\nlinuxpath=/tmp/words.txt\n[other]\nx=y\n");
    assert.equal(lookup(await loadConfigFile(ini), "linuxpath"), "/tmp/words.txt");

    const confDir = join(dir, "conf.d");
    await Deno.mkdir(confDir);
    await Deno.writeTextFile(join(confDir, "10-base.conf"), '[redis]\nhost = "a"\nport = 6379\n');
    await Deno.writeTextFile(join(confDir, "20-override.conf"), '[redis]\nhost = "b"\n');
    const merged = await loadConfigFile(confDir);
    assert.equal(lookup(merged, "redis.host"), "b");
    assert.equal(lookup(merged, "redis.port"), 6379);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadConfigFile() errors name the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = join(dir, "nope.toml");
    await assert.rejects(
      loadConfigFile(missing),
      new ConfigError(`Cannot read config file "${missing}": file not found`),
    );
    const bad = join(dir, "bad.toml");
    await Deno.writeTextFile(bad, "[daemon\nport = 1\n");
    await assert.rejects(loadConfigFile(bad), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, new RegExp(`^Cannot parse config file "${bad}" as TOML: `));
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
