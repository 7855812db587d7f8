/**
 * A missing certificate, key, certificates directory or data spec is a
 * configuration error: every service exits 2, as does a second `certs init`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./harness/mod.ts";

Deno.test("every service exits 2 for a missing certificate, key, certs directory or data spec", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-exit-" });
  try {
    const none = join(dir, "nowhere");
    const words = join(dir, "words.txt");
    await Deno.writeTextFile(words, "apple\n");
    await Deno.writeTextFile(join(dir, "p.csv"), "id,name\n1,ann\n");
    const spec = join(dir, "spec.json");
    await Deno.writeTextFile(spec, JSON.stringify({ files: [{ path: "p.csv", key: "id" }] }));
    const handler = join(dir, "handler.ts");
    await Deno.writeTextFile(handler, "export default (q) => q;\n");
    const crt = join(dir, "missing.crt");
    const key = join(dir, "missing.key");
    const cases: Array<[string, string[], RegExp]> = [
      [
        "ingest --cert",
        ["ingest", "serve", "--port", "0", "--cert", crt, "--key", key, "--client-certs", crt],
        /Cannot read server certificate/,
      ],
      ["ingest --certs", ["ingest", "serve", "--port", "0", "--certs", none], /Cannot read/],
      [
        "servercli --cert",
        ["servercli", "--port", "0", "--cert", crt, "--key", key],
        /Cannot read/,
      ],
      ["servercli --certs", ["servercli", "--port", "0", "--certs", none], /Cannot read/],
      [
        "broker serve --certs",
        ["broker", "serve", "--port", "0", "--certs", none, "--dir", join(dir, "b1")],
        /Cannot read/,
      ],
      [
        "broker connect --certs",
        [
          "broker",
          "connect",
          "--name",
          "alice",
          "--server",
          "127.0.0.1:1",
          "--certs",
          none,
          "--dir",
          join(dir, "b2"),
        ],
        /Cannot read CA certificate/,
      ],
      [
        "search --tls --certs",
        ["search", "serve", "--file", words, "--tls", "--port", "0", "--certs", none],
        /Cannot read/,
      ],
      [
        "query --tls --certs",
        [
          "query",
          "serve",
          "--data",
          spec,
          "--handler",
          handler,
          "--tls",
          "--port",
          "0",
          "--certs",
          none,
        ],
        /Cannot read server certificate/,
      ],
      [
        "query --data",
        ["query", "serve", "--data", join(dir, "nope.json"), "--handler", handler, "--port", "0"],
        /Cannot read data spec/,
      ],
      [
        "ingest send --ca",
        ["ingest", "send", "--ca", crt, "--cert", crt, "--key", key, "--port", "1"],
        /Cannot read CA certificate/,
      ],
    ];
    for (const [name, args, message] of cases) {
      await t.step(name, async () => {
        const r = await runCli(args, { stdin: "", timeoutMs: 30_000 });
        assert.equal(r.code, 2, `${name}: ${r.stderr}`);
        assert.match(r.stderr, message);
      });
    }
    await t.step("a second certs init refuses to overwrite with exit 2", async () => {
      const certs = join(dir, "certs");
      assert.equal((await runCli(["certs", "init", "--dir", certs])).code, 0);
      const again = await runCli(["certs", "init", "--dir", certs]);
      assert.equal(again.code, 2, again.stderr);
      assert.match(again.stderr, /Refusing to overwrite .*pass --force/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
