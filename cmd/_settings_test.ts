import assert from "node:assert/strict";
import { Command } from "@commander-js/extra-typings";
import { parse } from "../core/config/mod.ts";
import { settingHelp, settingsOf, withSettings } from "./_settings.ts";

const SPECS = {
  port: {
    parse: parse.port,
    flag: "--port",
    arg: "<port>",
    help: "port to listen on",
    env: "T_PORT",
    file: "server.port",
    default: 3443,
  },
  tls: {
    parse: parse.boolean,
    flag: "--tls",
    help: "serve TLS",
    negate: "serve plain TCP",
    env: "T_TLS",
    default: false,
  },
  clientCerts: { parse: parse.string, flag: "--client-certs", arg: "<file>", help: "allow-list" },
} as const;

function run(argv: string[], env: Record<string, string> = {}, file?: Record<string, unknown>) {
  let out: unknown;
  const cmd = withSettings(new Command("t").exitOverride(), SPECS).action((_o, c) => {
    out = settingsOf(SPECS, c, { env, ...(file ? { file, filePath: "t.toml" } : {}) });
  });
  cmd.parse(argv, { from: "user" });
  return out as { port: number; tls: boolean; clientCerts: string | undefined };
}

Deno.test("one settings table gives the options, their help and typed settings", () => {
  assert.deepEqual(run([]), { port: 3443, tls: false, clientCerts: undefined });
  assert.deepEqual(run(["--port", "9", "--tls", "--client-certs", "a.pem"]), {
    port: 9,
    tls: true,
    clientCerts: "a.pem",
  });
  // flag > env > file > default
  assert.equal(run([], { T_PORT: "7" }, { server: { port: 8 } }).port, 7);
  assert.equal(run([], {}, { server: { port: 8 } }).port, 8);
  assert.equal(run(["--port", "6"], { T_PORT: "7" }).port, 6);
  // --no-tls overrides an environment that turns TLS on
  assert.equal(run(["--no-tls"], { T_TLS: "true" }).tls, false);
  assert.equal(run([], { T_TLS: "true" }).tls, true);
  assert.throws(() => run(["--port", "70000"]), /Invalid value for flag --port: /);
  assert.equal(
    settingHelp(SPECS.port),
    "port to listen on (default 3443; env T_PORT; config server.port)",
  );
  assert.equal(settingHelp(SPECS.tls), "serve TLS (env T_TLS)");
});

Deno.test("a setting whose key does not match its flag is refused when the command is built", () => {
  const bad = { clientCert: { parse: parse.string, flag: "--client-certs", arg: "<f>" } };
  assert.throws(
    () => withSettings(new Command("t"), bad),
    /Setting "clientCert" is declared with flag --client-certs, whose value commander stores as "clientCerts"/,
  );
});

const LISTS = {
  allow: {
    parse: parse.list(parse.string),
    flag: "--allow",
    arg: "<entry>",
    help: "admit these",
    env: "T_ALLOW",
    file: "t.allow",
    default: [] as string[],
    repeatable: true,
  },
  fsync: { parse: parse.boolean, flag: "--no-fsync", env: "T_FSYNC", default: true },
} as const;

function runLists(argv: string[], env: Record<string, string> = {}) {
  let out: unknown;
  const cmd = withSettings(new Command("t").exitOverride(), LISTS).action((_o, c) => {
    out = settingsOf(LISTS, c, { env });
  });
  cmd.parse(argv, { from: "user" });
  return out as { allow: string[]; fsync: boolean };
}

Deno.test("a repeatable flag collects each value into the array its parser takes", () => {
  assert.deepEqual(runLists([]).allow, []);
  assert.deepEqual(runLists(["--allow", "a"]).allow, ["a"]);
  assert.deepEqual(runLists(["--allow", "a", "--allow", "b,c"]).allow, ["a", "b,c"]);
  // the environment keeps its comma-separated form; a flag replaces it
  assert.deepEqual(runLists([], { T_ALLOW: "x, y" }).allow, ["x", "y"]);
  assert.deepEqual(runLists(["--allow", "a"], { T_ALLOW: "x" }).allow, ["a"]);
  assert.equal(
    settingHelp(LISTS.allow),
    "admit these (repeatable; env T_ALLOW; config t.allow)",
  );
});

Deno.test("a lone --no-X switch is a flag only when given, so the environment still applies", () => {
  assert.equal(runLists([]).fsync, true);
  assert.equal(runLists([], { T_FSYNC: "false" }).fsync, false);
  assert.equal(runLists(["--no-fsync"], { T_FSYNC: "true" }).fsync, false);
});
