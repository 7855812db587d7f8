import assert from "node:assert/strict";
import { cliCommandArgs, REPO_ROOT } from "./harness/mod.ts";

/** Runs sockkit ARGS on a pseudo-terminal (`script`), returning what the terminal received. */
async function onTerminal(args: string[]): Promise<{ code: number; transcript: string }> {
  const quoted = [Deno.execPath(), ...cliCommandArgs(args)].map((a) =>
    `'${a.replaceAll("'", "'\\''")}'`
  )
    .join(" ");
  const out = await new Deno.Command("script", {
    args: ["-qec", quoted, "/dev/null"],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1", COLUMNS: "120" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, transcript: new TextDecoder().decode(out.stdout) };
}

// deno-lint-ignore no-control-regex
const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;

Deno.test("ingest bench on a terminal shows a status line, counters, and log lines above them, never glued on", async () => {
  const { code, transcript } = await onTerminal([
    "--log-level",
    "debug",
    "ingest",
    "bench",
    "--objects",
    "20000",
    "--clients",
    "2",
    "--no-anchor",
  ]);
  assert.equal(code, 0, transcript);
  assert.match(transcript, /ingest bench: starting a private redis-server/);
  assert.match(transcript, /ingest bench: 2 mTLS clients sending 20000 nested objects \(\d+ s\)/);
  assert.match(transcript, / {2}stored \[[^\]]*\] \d+\/20000/);
  const logs = [...transcript.matchAll(/\d{4}-\d\d-\d\dT[\d:.]+Z (DEBUG|INFO|WARN)/g)];
  assert.ok(logs.length >= 3, transcript);
  for (const m of logs) {
    const before = transcript.slice(0, m.index);
    const lineStart = Math.max(before.lastIndexOf("\n"), before.lastIndexOf("\r"));
    // What is still drawn on this terminal line when the log line starts: text after the
    // line's last erase (ESC [2K / ESC [0J), cursor and erase codes removed, must be nothing.
    let line = before.slice(lineStart + 1);
    const erased = Math.max(line.lastIndexOf("\x1b[2K"), line.lastIndexOf("\x1b[0J"));
    if (erased >= 0) line = line.slice(erased);
    const drawn = line.replace(ESCAPES, "");
    assert.equal(drawn, "", `a log line glued onto "${drawn}"`);
  }
});

Deno.test("broker bench shows what it is doing from its first second on a terminal", async () => {
  const { code, transcript } = await onTerminal([
    "broker",
    "bench",
    "--messages",
    "2000",
    "--no-ack",
    "--nats",
    "",
  ]);
  assert.equal(code, 0, transcript);
  assert.match(
    transcript,
    /broker bench: 2000 messages of 100 bytes: broker one way, request\/response \(0 s\)/,
  );
});
