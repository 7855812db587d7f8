import assert from "node:assert/strict";
import { createLogger, nullLogger } from "./mod.ts";

function capture(options: Parameters<typeof createLogger>[0] = {}) {
  const lines: string[] = [];
  const log = createLogger({ ...options, sink: (l) => lines.push(l) });
  return { log, lines };
}

Deno.test("createLogger() writes text lines an operator can grep", () => {
  const { log, lines } = capture({ fields: { svc: "ingest" } });
  log.info("client connected", { peer: "CN=alice 127.0.0.1:5000", count: 3 });
  assert.equal(lines.length, 1);
  assert.match(
    lines[0]!,
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO {2}client connected svc=ingest peer="CN=alice 127.0.0.1:5000" count=3$/,
  );
});

Deno.test("createLogger() writes one JSON object per line in json format", () => {
  const { log, lines } = capture({ format: "json" });
  log.warn("refused client", { reason: "revoked", error: new Error("boom") });
  const obj = JSON.parse(lines[0]!);
  assert.equal(obj.level, "warn");
  assert.equal(obj.msg, "refused client");
  assert.equal(obj.reason, "revoked");
  assert.equal(obj.error, "boom");
  assert.ok(!Number.isNaN(Date.parse(obj.time)));
});

Deno.test("createLogger() drops lines below its level; child() adds fields", () => {
  const { log, lines } = capture({ level: "warn" });
  log.debug("hidden");
  log.info("hidden");
  log.child({ conn: 7 }).error("shown");
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /ERROR shown conn=7$/);
  assert.equal(log.enabled("debug"), false);
  assert.equal(log.enabled("error"), true);
});

Deno.test("createLogger() appends to --log-file", async () => {
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(file, "earlier line\n");
    const log = createLogger({ file });
    log.info("first");
    log.info("second");
    log.close();
    const lines = (await Deno.readTextFile(file)).trim().split("\n");
    assert.equal(lines[0], "earlier line");
    assert.deepEqual(lines.slice(1).map((l) => l.replace(/^\S+ INFO +/, "")), ["first", "second"]);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("Logger.setLevel() changes the level of a logger and every child at run time", () => {
  const lines: string[] = [];
  const root = createLogger({ level: "warn", sink: (l) => lines.push(l) });
  const child = root.child({ svc: "broker" });
  child.info("hidden");
  child.setLevel("debug");
  assert.equal(root.level, "debug");
  root.debug("shown");
  child.info("also shown");
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /DEBUG shown/);
  assert.match(lines[1]!, /INFO {2}also shown svc=broker/);
});

Deno.test("nullLogger stays silent whatever level is set", () => {
  nullLogger.child({ a: 1 }).setLevel("debug");
  assert.equal(nullLogger.level, "silent");
  assert.equal(nullLogger.enabled("error"), false);
});
