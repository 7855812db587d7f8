import assert from "node:assert/strict";
import { isDaemonCommand } from "./find_daemon.ts";

Deno.test("isDaemonCommand() tells a running daemon from the service's client commands", async (t) => {
  const deno = ["/usr/bin/deno", "run", "-A", "--config", "/x/deno.json", "/x/main.ts"];
  const cases: Array<[string[], string, boolean]> = [
    [[...deno, "ingest", "--port", "1191"], "ingest", true],
    [[...deno, "ingest", "serve"], "ingest", true],
    [[...deno, "ingest", "send", "data.json"], "ingest", false],
    [[...deno, "ingest", "reload"], "ingest", false],
    [[...deno, "--log-level", "debug", "servercli", "--period", "1"], "servercli", true],
    [[...deno, "servercli", "bench"], "servercli", false],
    [[...deno, "search", "serve", "--file", "w.txt"], "search", true],
    [[...deno, "search", "query", "apple"], "search", false],
    [[...deno, "broker", "connect", "--name", "alice"], "broker", true],
    [[...deno, "broker", "peers"], "broker", false],
    [["/usr/local/bin/sockkit", "query", "serve", "--data", "d.csv"], "query", true],
    [[...deno, "search", "serve"], "query", false],
    [["/usr/bin/python3", "ingest"], "ingest", false],
  ];
  for (const [argv, svc, want] of cases) {
    await t.step(`${svc}: ${argv.slice(5).join(" ")}`, () => {
      assert.equal(isDaemonCommand(argv, svc), want);
    });
  }
});
