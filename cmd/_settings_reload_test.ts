import assert from "node:assert/strict";
import { join } from "node:path";
import { Command } from "@commander-js/extra-typings";
import { parse } from "../core/config/mod.ts";
import { settingsReload } from "../core/lifecycle/mod.ts";
import { tempDir } from "../tests/harness/mod.ts";
import { withSettings } from "./_settings.ts";
import { settingsReader } from "./_settings_reload.ts";

const SPECS = {
  port: { parse: parse.port, flag: "--port", arg: "<port>", file: "t.port", default: 3443 },
  certs: { parse: parse.string, flag: "--certs", arg: "<dir>", file: "t.certs", default: "certs" },
} as const;

function parsed(argv: string[]): Command {
  let out: Command | undefined;
  const cmd = withSettings(new Command("t").exitOverride(), SPECS).action((_o, c) => {
    out = c as unknown as Command;
  });
  cmd.parse(argv, { from: "user" });
  return out!;
}

Deno.test("a reload reads the config file again, applies it and names the settings only a restart applies", async () => {
  await using dir = await tempDir("sockkit-reload-test-");
  const file = join(dir.path, "t.toml");
  await Deno.writeTextFile(file, '[t]\nport = 1000\ncerts = "a"\n');
  const warnings: string[] = [];
  const read = settingsReader(SPECS, parsed([]), {
    config: file,
    onWarning: (m) => warnings.push(m),
  });
  const s = await read();
  assert.deepEqual(s, { port: 1000, certs: "a" });
  const applied: string[] = [];
  const reload = settingsReload(s, {
    read,
    reloadable: ["certs"],
    apply: (next) => {
      applied.push(next.certs);
      return Promise.resolve({ tls: true });
    },
  });

  await Deno.writeTextFile(file, '[t]\nport = 1000\ncerts = "b"\n');
  assert.deepEqual(await reload(), { tls: true });
  await Deno.writeTextFile(file, '[t]\nport = 2000\ncerts = "c"\nbogus = 1\n');
  assert.deepEqual(await reload(), { tls: true, restart_needed: "port" });
  assert.deepEqual(applied, ["b", "c"]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /bogus/);
});

Deno.test("a flag outranks the config file on every reload", async () => {
  await using dir = await tempDir("sockkit-reload-test-");
  const file = join(dir.path, "t.toml");
  await Deno.writeTextFile(file, "[t]\nport = 1000\n");
  const read = settingsReader(SPECS, parsed(["--port", "9"]), {
    config: file,
    onWarning: () => {},
  });
  const s = await read();
  await Deno.writeTextFile(file, "[t]\nport = 2000\n");
  const reload = settingsReload(s, { read, reloadable: [], apply: () => Promise.resolve({}) });
  assert.deepEqual(await reload(), {});
  assert.equal((await read()).port, 9);
});
