/**
 * Integration tests of `sockkit query`: a real server on loopback (TCP and
 * UDP), data files, handler modules and keys written by the tests, and the
 * CLI as a subprocess.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createLogger } from "../core/log/mod.ts";
import {
  ask,
  type AskOptions,
  encodeHeader,
  exchange,
  loadDataSpec,
  loadKeyPair,
  loadPublicKey,
  type QueryServer,
  type QueryServerOptions,
  sealQuery,
  startQueryServer,
  writeKeyPair,
} from "../core/query/mod.ts";
import { loadClientTls, loadServerTls } from "../core/pki/mod.ts";
import {
  holdUpToCap,
  makePki,
  ownAddress,
  runCli,
  spawnCli,
  startDaemon,
  tempDir,
  waitUntil,
  withPythonModule,
} from "./harness/mod.ts";
import { delay } from "../core/async/mod.ts";

const PEOPLE = "id,name,city\n1,Ada,London\n2,Grace,New York\n";
const CITIES = "London,UK,8866000\nNew York,US,8336000\n";

/** Looks `KEY` up in `FILE` (text: `FILE KEY`; JSON: `{"file","key"}`); special queries misbehave. */
const HANDLER = `
export default function handler(query, data) {
  if (query === "boom") throw new Error("kaboom");
  if (query === "loop") { for (;;) {} }
  if (query === "hog") { const a = []; for (;;) a.push(new Array(100000).fill(1.5)); }
  if (query === "big") return "x".repeat(70000);
  if (typeof query === "string" && query.startsWith("huge ")) return "y".repeat(Number(query.slice(5)));
  if (typeof query === "string") {
    const [file, ...rest] = query.split(" ");
    const row = data[file]?.[rest.join(" ")];
    return row === undefined ? "NOT FOUND" : JSON.stringify(row);
  }
  return data[query.file]?.[query.key] ?? null;
}
`;

interface Fixture extends AsyncDisposable {
  dir: string;
  server: QueryServer;
  logs: string[];
  port: number;
  ask(query: string, o?: AskOptions): ReturnType<typeof ask>;
}

async function fixture(extra: Partial<QueryServerOptions> = {}): Promise<Fixture> {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-query-test-" });
  await Deno.writeTextFile(join(dir, "people.csv"), PEOPLE);
  await Deno.writeTextFile(join(dir, "cities.csv"), CITIES);
  await Deno.writeTextFile(join(dir, "handler.js"), HANDLER);
  await Deno.writeTextFile(
    join(dir, "spec.json"),
    JSON.stringify({
      files: [
        { path: "people.csv", format: "csv", key: "id" },
        { path: "cities.csv", format: "csv", keyIndex: 0 },
      ],
    }),
  );
  const logs: string[] = [];
  const server = await startQueryServer({
    spec: await loadDataSpec(join(dir, "spec.json")),
    handler: join(dir, "handler.js"),
    host: "127.0.0.1",
    port: 0,
    debounceMs: 20,
    checkIntervalMs: 50,
    logger: createLogger({ level: "debug", sink: (l) => logs.push(l) }),
    ...extra,
  });
  const port = server.tcpPort ?? server.udpPort!;
  return {
    dir,
    server,
    logs,
    port,
    ask: (query, o = {}) => ask(query, { port, ...o }),
    async [Symbol.asyncDispose]() {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("query data is a dictionary as in Python: a key no row has is not found, even constructor or toString, and a row keyed __proto__ is found", async () => {
  await using dir = await tempDir("sockkit-query-dict-");
  const at = (name: string) => join(String(dir), name);
  await Deno.writeTextFile(at("people.csv"), "id,name\n1,Ada\n__proto__,Mallory\n2,Grace\n");
  await Deno.writeTextFile(at("settings.json"), '{"mode":"fast"}');
  await Deno.writeTextFile(at("handler.js"), HANDLER);
  await Deno.writeTextFile(
    at("spec.json"),
    JSON.stringify({
      files: [{ path: "people.csv", key: "id" }, { path: "settings.json", format: "json" }],
    }),
  );
  await using server = await startQueryServer({
    spec: await loadDataSpec(at("spec.json")),
    handler: at("handler.js"),
    host: "127.0.0.1",
    port: 0,
  });
  const text = async (q: string) => (await ask(q, { port: server.tcpPort! })).text;
  assert.equal(await text("people __proto__"), '{"id":"__proto__","name":"Mallory"}');
  assert.equal(await text("people 2"), '{"id":"2","name":"Grace"}');
  // the handler's `data[file]?.[key]` finds nothing Object.prototype has
  for (
    const q of ["people constructor", "people toString", "people name", "settings constructor"]
  ) {
    assert.equal(await text(q), "NOT FOUND", q);
  }
  assert.equal(await text("settings mode"), '"fast"');
  assert.equal(await text("constructor name"), "NOT FOUND"); // no data file named constructor
});

Deno.test("query answers lookups in CSVs keyed by column name and by index, over TCP and UDP, text and JSON", async (t) => {
  await using f = await fixture();
  for (const transport of ["tcp", "udp"] as const) {
    await t.step(`${transport} text`, async () => {
      const byName = await f.ask("people 2", { transport });
      assert.equal(byName.text, '{"id":"2","name":"Grace","city":"New York"}');
      assert.deepEqual(byName.header, { encryption: "p", representation: "t" });
      const byIndex = await f.ask("cities London", { transport });
      assert.equal(byIndex.text, '["London","UK","8866000"]');
      assert.equal((await f.ask("people 9", { transport })).text, "NOT FOUND");
    });
    await t.step(`${transport} JSON`, async () => {
      const r = await f.ask('{"file":"people","key":"1"}', { transport, representation: "j" });
      assert.deepEqual(r.header, { encryption: "p", representation: "j" });
      assert.deepEqual(JSON.parse(r.text), { id: "1", name: "Ada", city: "London" });
      const c = await f.ask('{"file":"cities","key":"New York"}', {
        transport,
        representation: "j",
      });
      assert.deepEqual(JSON.parse(c.text), ["New York", "US", "8336000"]);
    });
  }
});

Deno.test("query: changing a data file changes the next answers; a broken CSV keeps the old data and logs", async () => {
  await using f = await fixture();
  const people = join(f.dir, "people.csv");
  // In-place rewrite.
  await Deno.writeTextFile(people, "id,name,city\n1,Ada Lovelace,London\n");
  await waitUntil(async () => (await f.ask("people 1")).text.includes("Ada Lovelace"), {
    what: "the rewritten people.csv to be answered",
  });
  // Atomic replace by rename (what editors and deploy tools do).
  await Deno.writeTextFile(join(f.dir, "people.tmp"), "id,name,city\n1,Countess,London\n");
  await Deno.rename(join(f.dir, "people.tmp"), people);
  await waitUntil(
    async () => (await f.ask("people 1", { transport: "udp" })).text.includes("Countess"),
    {
      what: "the renamed people.csv to be answered",
    },
  );
  // A broken CSV (unclosed quote) keeps the last good data and logs the failure.
  await Deno.writeTextFile(people, 'id,name,city\n1,"Broken,London\n');
  await waitUntil(
    () => f.logs.some((l) => l.includes("reload failed") && l.includes("people.csv")),
    {
      what: "the failed reload to be logged",
    },
  );
  assert.ok((await f.ask("people 1")).text.includes("Countess"));
  assert.equal((await f.ask("cities London")).text, '["London","UK","8866000"]');
  // Fixing the file is picked up again.
  await Deno.writeTextFile(people, "id,name,city\n1,Fixed,London\n");
  await waitUntil(async () => (await f.ask("people 1")).text.includes("Fixed"), {
    what: "the fixed people.csv to be answered",
  });
  // Rows shorter or longer than the header load, as the replaced tool's csv.DictReader read them.
  await Deno.writeTextFile(people, "id,name,city\n1,Short\n2,Long,Paris,FR,EU\n");
  await waitUntil(async () => (await f.ask("people 1")).text.includes("Short"), {
    what: "the people.csv with uneven rows to be answered",
  });
  assert.equal((await f.ask("people 1")).text, '{"id":"1","name":"Short","city":null}');
  assert.equal(
    (await f.ask("people 2", { transport: "udp" })).text,
    '{"id":"2","name":"Long","city":"Paris","null":["FR","EU"]}',
  );
});

Deno.test("query: a reader module that throws a value with no string form, or leaves a rejected promise, fails that reload alone and later reloads still land", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    join(dir.path, "reader.js"),
    `export default (text) => {
  if (text.startsWith("nostring")) throw Object.create(null);
  if (text.startsWith("stray")) Promise.reject(new Error("nobody waits for this"));
  return { a: text.trim() };
};
`,
  );
  const rows = join(dir.path, "rows.txt");
  await Deno.writeTextFile(rows, "first");
  await Deno.writeTextFile(
    join(dir.path, "spec.json"),
    JSON.stringify({ files: [{ path: "rows.txt", format: "module", reader: "reader.js" }] }),
  );
  await using f = await fixture({ spec: await loadDataSpec(join(dir.path, "spec.json")) });
  assert.equal((await f.ask("rows a")).text, '"first"');
  await Deno.writeTextFile(rows, "nostring");
  await waitUntil(
    () =>
      f.logs.some((l) =>
        l.includes("reload failed") && l.includes("a thrown value with no string form")
      ),
    { what: "the failed reload to be logged with a description of what was thrown" },
  );
  assert.equal((await f.ask("rows a")).text, '"first"', "the last good data is kept");
  await Deno.writeTextFile(rows, "stray one");
  await waitUntil(async () => (await f.ask("rows a")).text === '"stray one"', {
    what: "the file whose reader left a rejected promise to be answered",
  });
  // Before, either reload killed the data worker (it is not respawned) and no later change was read.
  await Deno.writeTextFile(rows, "second");
  await waitUntil(async () => (await f.ask("rows a")).text === '"second"', {
    what: "a later change to be answered",
  });
  assert.ok(!f.logs.some((l) => l.includes("crashed")), f.logs.join("\n"));
});

Deno.test("query: large TCP queries waiting behind a busy handler are refused once they hold 64 Mi characters, and the rest are answered", async () => {
  await using dir = await tempDir();
  const handler = join(dir.path, "hold.js");
  const lock = join(dir.path, "hold.lock");
  await Deno.writeTextFile(lock, "");
  // 'hold' keeps the only worker busy while the lock file exists (at most 20 s)
  await Deno.writeTextFile(
    handler,
    `export default (q) => { if (q === 'hold') { const end = Date.now() + 20000; while (Date.now() < end) { try { Deno.statSync(${
      JSON.stringify(lock)
    }); } catch { break; } } } return \`\${q.length}\`; };\n`,
  );
  await using f = await fixture({ handler, workers: 1, handlerTimeoutMs: 30_000, udp: false });
  const held = f.ask("hold");
  await waitUntil(() => f.server.pool.pending === 1, { what: "the hold to be running" });
  const size = 1024 * 1024 - 16;
  let settled = 0;
  const asked = Array.from(
    { length: 80 },
    () => f.ask("x".repeat(size), { timeoutMs: 40_000 }).finally(() => settled++),
  );
  // every one of the 80 is refused or waits behind the hold before the hold ends
  await waitUntil(() => settled + f.server.pool.pending - 1 === 80, {
    timeoutMs: 30_000,
    what: "the 80 queries to be refused or waiting",
  });
  await Deno.remove(lock);
  const replies = await Promise.all(asked);
  assert.equal((await held).text, "4");
  const answered = replies.filter((r) => r.error === undefined);
  const refused = replies.filter((r) => r.error !== undefined);
  // Before, all 80 waited (10,000 could: 10 GB), holding their text and their request bytes.
  assert.ok(answered.every((r) => r.text === String(size)));
  assert.ok(answered.length >= 60 && answered.length <= 64, `${answered.length} answered`);
  assert.equal(refused.length, 80 - answered.length);
  for (const r of refused) {
    assert.match(
      r.error!,
      /^The server is busy: \d+ queries of \d+ characters in all are waiting \(at most 67108864\)/,
    );
  }
});

Deno.test("query: a handler that throws gets an error reply and the server keeps serving", async () => {
  await using f = await fixture();
  for (const transport of ["tcp", "udp"] as const) {
    const r = await f.ask("boom", { transport });
    assert.match(r.error ?? "", /The handler failed: Error: kaboom/);
    assert.ok(r.text.startsWith("ERROR: "));
    const j = await f.ask('"boom"', { transport, representation: "j" });
    assert.match(JSON.parse(j.text).error, /kaboom/);
    assert.equal((await f.ask("people 1", { transport })).error, undefined);
  }
});

Deno.test("query: a handler that throws is logged at warn with the query's peer", async () => {
  await using f = await fixture();
  for (const transport of ["tcp", "udp"] as const) {
    await f.ask("boom", { transport });
    await waitUntil(
      () =>
        f.logs.find((l) =>
          /WARN/i.test(l) && /query handler failed/.test(l) && l.includes(transport) &&
          /127\.0\.0\.1:\d+/.test(l) && /kaboom/.test(l)
        ),
      { timeoutMs: 5000, what: `a warn line for the ${transport} query` },
    );
  }
});

Deno.test("query: a peer whose every query makes the handler throw gets every error reply, and the log a bounded number of lines", async () => {
  await using f = await fixture();
  for (let i = 0; i < 40; i++) {
    assert.match((await f.ask("boom", { transport: "udp" })).error ?? "", /kaboom/);
  }
  // 10 in a 10 s window; without a bound every one of these UDP datagrams was a warn line.
  assert.equal(f.logs.filter((l) => /query handler failed/.test(l)).length, 10);
  // Closing tells the 30 left out (before: never, with no further failure).
  await f.server.close();
  assert.ok(
    f.logs.some((l) => /WARN.*query handler failed.*not_logged=30\b/.test(l)),
    f.logs.join("\n"),
  );
});

/** Sends one plain text TCP request; reads the reply after `waitMs`, `chunk` bytes per `pauseMs`. */
async function rawAsk(
  port: number,
  query: string,
  o: { waitMs?: number; readBytes?: number } = {},
): Promise<number> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await c.write(enc.encode(`0pt0${query}\n`));
    if (o.waitMs) await delay(o.waitMs);
    const buf = new Uint8Array(256 * 1024);
    let total = 0;
    while (true) {
      const n = await c.read(buf).catch(() => null);
      if (n === null) return total;
      total += n;
      if (o.readBytes !== undefined && total >= o.readBytes) return total;
    }
  } finally {
    c.close();
  }
}

Deno.test("query: a large TCP reply reaches whole a client that waits before reading", async () => {
  await using f = await fixture();
  const size = 16 * 1024 * 1024;
  // Before: end() destroyed the socket 2 s after the reply was queued.
  const got = await rawAsk(f.port, `huge ${size}`, { waitMs: 3500 });
  assert.equal(got, 4 + size);
});

Deno.test("query: a client that stops reading a reply is cut off by the idle timeout, and the log says so", async () => {
  await using f = await fixture({ idleTimeoutMs: 800 });
  const c = await Deno.connect({ hostname: "127.0.0.1", port: f.port });
  try {
    await c.write(enc.encode(`0pt0huge ${32 * 1024 * 1024}\n`));
    const line = await waitUntil(
      () => f.logs.find((l) => /reply not delivered whole/.test(l)),
      { timeoutMs: 15_000, what: "the log line about the cut reply" },
    );
    assert.match(line, /idle timeout/);
  } finally {
    c.close();
  }
  // The server carries on.
  assert.equal((await f.ask("people 1")).error, undefined);
});

Deno.test("query: a handler that keeps allocating is stopped at its memory cap and the server answers the next query", async () => {
  await using f = await fixture({ handlerTimeoutMs: 1500, handlerMemoryMb: 64 });
  const before = Deno.memoryUsage().rss;
  const r = await f.ask("hog", { timeoutMs: 20_000 });
  // V8 either stops the worker at the cap or collects garbage at the cap until the time limit.
  assert.match(r.error ?? "", /64 MiB heap cap|time limit/);
  // Before: the worker grew until "Fatal JavaScript out of memory" took the process down.
  const grown = Deno.memoryUsage().rss - before;
  assert.ok(grown < 1024 * 1024 * 1024, `the process grew by ${grown} bytes`);
  assert.equal((await f.ask("people 1")).error, undefined);
});

Deno.test("query: a handler that never returns gets a time-limit error while other queries are answered", async () => {
  await using f = await fixture({ handlerTimeoutMs: 2500 });
  let loopSettled = false;
  const looping = f.ask("loop", { timeoutMs: 20_000 }).finally(() => loopSettled = true);
  await waitUntil(() => f.server.pool.pending >= 1, { what: "the looping query to be running" });
  const others = await Promise.all(
    Array.from(
      { length: 10 },
      (_, i) => f.ask(i % 2 ? "people 1" : "cities London", { transport: i % 3 ? "udp" : "tcp" }),
    ),
  );
  assert.equal(loopSettled, false, "other queries were answered while the handler loops");
  for (const r of others) assert.equal(r.error, undefined);
  const stuck = await looping;
  assert.match(stuck.error ?? "", /did not answer within the 2500 ms time limit/);
  assert.equal(f.server.pool.replaced, 1);
  // Deno cannot stop the looping thread: the log says so, with the count, at error
  const said = f.logs.filter((l) =>
    / ERROR .*keeps its thread busy until the server restarts/.test(l)
  );
  assert.equal(said.length, 1, f.logs.join("\n"));
  assert.match(said[0]!, /replaced=1/);
  assert.equal((await f.ask("people 2", { transport: "udp" })).error, undefined);
});

Deno.test("query: a looping query sent in a batch with others fails alone", async () => {
  await using f = await fixture({ handlerTimeoutMs: 300, workers: 2 });
  const replies = await Promise.all(
    ["people 1", "loop", "people 2", "cities London", "people 1", "loop"].map((q, i) =>
      f.ask(q, { transport: i % 2 ? "udp" : "tcp", timeoutMs: 20_000 })
    ),
  );
  replies.forEach((r, i) => {
    if (i === 1 || i === 5) assert.match(r.error ?? "", /time limit/);
    else assert.equal(r.error, undefined, `query ${i} answered`);
  });
});

Deno.test("query: encrypted queries round-trip over TCP and UDP; tampered and wrong-key queries are refused", async (t) => {
  const keysDir = await Deno.makeTempDir({ prefix: "sockkit-query-keys-" });
  try {
    const paths = await writeKeyPair(join(keysDir, "server"));
    const other = await writeKeyPair(join(keysDir, "other"));
    await using f = await fixture({ key: await loadKeyPair(paths.privateKey) });
    const serverKey = await loadPublicKey(paths.publicKey);
    const wrongKey = await loadPublicKey(other.publicKey);
    for (const transport of ["tcp", "udp"] as const) {
      await t.step(`${transport} round trip`, async () => {
        const r = await f.ask("people 1", { transport, serverKey });
        assert.deepEqual(r.header, { encryption: "E", representation: "t" });
        assert.equal(r.text, '{"id":"1","name":"Ada","city":"London"}');
        const j = await f.ask('{"file":"cities","key":"London"}', {
          transport,
          serverKey,
          representation: "j",
        });
        assert.deepEqual(j.header, { encryption: "E", representation: "j" });
        assert.deepEqual(JSON.parse(j.text), ["London", "UK", "8866000"]);
        const e = await f.ask("boom", { transport, serverKey });
        assert.equal(e.header.encryption, "E");
        assert.match(e.error ?? "", /kaboom/);
      });
      await t.step(`${transport} wrong key`, async () => {
        if (transport === "udp") {
          // An undecryptable datagram is not answered (a reply could start a loop).
          await assert.rejects(
            f.ask("people 1", { transport, serverKey: wrongKey, timeoutMs: 300 }),
            /No reply from .* over UDP within 300 ms/,
          );
          return;
        }
        const r = await f.ask("people 1", { transport, serverKey: wrongKey });
        assert.equal(r.header.encryption, "p");
        assert.match(
          r.error ?? "",
          /^The reply to the encrypted query was not encrypted, so it is not authenticated .*"Cannot decrypt: authentication failed/,
        );
      });
      await t.step(`${transport} tampered ciphertext`, async () => {
        const header = encodeHeader({ encryption: "E", representation: "t" });
        const sealed = await sealQuery(serverKey, header, enc.encode("people 1"));
        const b64 = dec.decode(sealed.payload);
        const i = b64.length - 8; // inside the ciphertext/tag
        const flipped = b64.slice(0, i) + (b64[i] === "A" ? "B" : "A") + b64.slice(i + 1);
        if (transport === "udp") {
          for (const m of ["0Et0" + flipped, "0Et0not base64!"]) {
            await assert.rejects(
              exchange(enc.encode(m), { port: f.port, transport, timeoutMs: 300 }),
              /No reply/,
            );
          }
          return;
        }
        const reply = dec.decode(
          await exchange(enc.encode("0Et0" + flipped), { port: f.port, transport }),
        );
        assert.match(reply, /^0pt0ERROR: Cannot decrypt: authentication failed/);
        const garbage = dec.decode(
          await exchange(enc.encode("0Et0not base64!"), { port: f.port, transport }),
        );
        assert.match(garbage, /^0pt0ERROR: Cannot decrypt: the payload is not base64/);
      });
      await t.step(`${transport} plaintext still works with a server key`, async () => {
        const r = await f.ask("people 2", { transport });
        assert.deepEqual(r.header, { encryption: "p", representation: "t" });
        assert.equal(r.error, undefined);
      });
    }
  } finally {
    await Deno.remove(keysDir, { recursive: true });
  }
});

Deno.test("query: malformed headers, unknown schemes, pickle and oversized UDP replies get clear errors", async (t) => {
  await using f = await fixture();
  // The last field: answered over UDP too (a well-formed header); the others
  // get no datagram back over UDP (the replaced server sent none either).
  const cases: Array<[string, string, RegExp, boolean?]> = [
    [
      "malformed protocol byte",
      "1pt0people 1",
      /^0pt0ERROR: Malformed header: protocol byte must be "0", got "1"$/,
    ],
    ["short header", "0p", /^0pt0ERROR: Malformed header: expected 4 header bytes/],
    [
      "bad version byte",
      "0ptXpeople 1",
      /^0pt0ERROR: Malformed header: application version byte must be "0", got "X"$/,
    ],
    [
      "unknown encryption byte",
      "0Zt0people 1",
      /^0pt0ERROR: Malformed header: encryption byte must be "p" \(or "0"\) or "E", got "Z"$/,
    ],
    ["scheme H", "0Hj0{}", /^0pj0\{"error":"Unsupported encryption scheme \\"H\\"/, true],
    [
      "pickle",
      "0pp0\x80\x04K\x01.",
      /^0pt0ERROR: Unsupported representation "p" \(pickle\)/,
      true,
    ],
    [
      "E without a server key",
      "0Et0abcd",
      /^0pt0ERROR: Encryption "E" is not enabled on this server/,
      true,
    ],
    ["malformed JSON query", "0pj0{nope", /^0pj0\{"error":"Malformed JSON query: /, true],
  ];
  for (const transport of ["tcp", "udp"] as const) {
    for (const [name, message, expected, overUdp] of cases) {
      await t.step(`${transport}: ${name}`, async () => {
        if (transport === "udp" && !overUdp) {
          await assert.rejects(
            exchange(enc.encode(message), { port: f.port, transport, timeoutMs: 300 }),
            /No reply from .* over UDP within 300 ms/,
          );
          return;
        }
        const reply = dec.decode(await exchange(enc.encode(message), { port: f.port, transport }));
        assert.match(reply, expected);
      });
    }
  }
  await t.step("a TCP request over --max-request gets an error reply", async () => {
    await using small = await fixture({ maxRequestBytes: 64 });
    const reply = dec.decode(
      await exchange(enc.encode("0pt0" + "x".repeat(100)), { port: small.port }),
    );
    assert.equal(reply, "0pt0ERROR: Request too large: more than 64 bytes before the newline");
  });
  await t.step(
    "a reply too large for a datagram is an error over UDP, whole over TCP",
    async () => {
      const udp = await f.ask("big", { transport: "udp" });
      assert.match(
        udp.error ?? "",
        /^Reply too large for a UDP datagram: 70004 bytes exceeds the 65507 byte limit \(ask over TCP instead\)$/,
      );
      const tcp = await f.ask("big", { transport: "tcp" });
      assert.equal(tcp.text.length, 70000);
    },
  );
});

Deno.test("query serve (CLI) starts from a config file, answers ask over TCP and UDP, exits 1 on an error reply, and drains on SIGTERM", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-query-cli-" });
  try {
    await Deno.writeTextFile(join(dir, "people.csv"), PEOPLE);
    await Deno.writeTextFile(join(dir, "handler.js"), HANDLER);
    await Deno.writeTextFile(
      join(dir, "spec.toml"),
      '[[files]]\npath = "people.csv"\nkey = "id"\n',
    );
    await Deno.writeTextFile(
      join(dir, "query.toml"),
      `[query]\ndata = "${join(dir, "spec.toml")}"\nhandler = "${
        join(dir, "handler.js")
      }"\nhost = "127.0.0.1"\nhandler_timeout = "2s"\n`,
    );
    const keys = await runCli(["query", "keys", "--dir", join(dir, "keys")]);
    assert.equal(keys.code, 0, keys.stderr);
    assert.equal((await Deno.stat(join(dir, "keys", "query.key"))).mode! & 0o777, 0o600);
    await using srv = spawnCli([
      "query",
      "serve",
      "--config",
      join(dir, "query.toml"),
      "--port",
      "0",
      "--key",
      join(dir, "keys", "query.key"),
    ]);
    const m = await srv.waitForLine(/listening .*tcp=(\d+) udp=(\d+)/);
    const port = m[1]!;
    const tcp = await runCli(["query", "ask", "people 1", "--port", port]);
    assert.equal(tcp.code, 0, tcp.stderr);
    assert.equal(tcp.stdout.trim(), '{"id":"1","name":"Ada","city":"London"}');
    const udp = await runCli([
      "query",
      "ask",
      '{"file":"people","key":"2"}',
      "--json",
      "--udp",
      "--port",
      port,
      "--server-key",
      join(dir, "keys", "query.pub"),
    ]);
    assert.equal(udp.code, 0, udp.stderr);
    assert.deepEqual(JSON.parse(udp.stdout), { id: "2", name: "Grace", city: "New York" });
    const failed = await runCli(["query", "ask", "boom", "--port", port, "--udp"]);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /error reply: The handler failed: Error: kaboom/);
    srv.kill("SIGTERM");
    assert.equal((await srv.status).code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("query serve (CLI) refuses a bad data spec and a missing handler with one clear line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-query-cli-" });
  try {
    await Deno.writeTextFile(
      join(dir, "spec.json"),
      '{"files":[{"path":"x.csv","key":"id","keyIndex":1}]}',
    );
    const bad = await runCli([
      "query",
      "serve",
      "--data",
      join(dir, "spec.json"),
      "--handler",
      "h.js",
      "--port",
      "0",
    ]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Invalid data spec .*files\[0\]: give "key" or "keyIndex", not both/);
    await Deno.writeTextFile(join(dir, "people.csv"), PEOPLE);
    await Deno.writeTextFile(
      join(dir, "spec.json"),
      '{"files":[{"path":"people.csv","key":"id"}]}',
    );
    const missing = await runCli([
      "query",
      "serve",
      "--data",
      join(dir, "spec.json"),
      "--handler",
      join(dir, "nope.js"),
      "--port",
      "0",
    ]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Cannot load handler module .*nope\.js/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const pyCrypto = await withPythonModule("cryptography", "apt install python3-cryptography");

pyCrypto.test({
  name:
    "query: the Python example client (written from the wire description) works plain and encrypted",
  fn: async () => {
    const keysDir = await Deno.makeTempDir({ prefix: "sockkit-query-keys-" });
    try {
      const paths = await writeKeyPair(keysDir);
      await using f = await fixture({ key: await loadKeyPair(paths.privateKey) });
      const client = new URL("../fixtures/query/client.py", import.meta.url).pathname;
      const run = async (...args: string[]) => {
        const o = await new Deno.Command(pyCrypto.python, {
          args: [client, ...args, "--port", String(f.port)],
          stdout: "piped",
          stderr: "piped",
        }).output();
        return { code: o.code, stdout: dec.decode(o.stdout), stderr: dec.decode(o.stderr) };
      };
      for (const transport of [[], ["--tcp"]]) {
        const plain = await run("people 2", ...transport);
        assert.equal(plain.stdout.trim(), '{"id":"2","name":"Grace","city":"New York"}');
        const sealed = await run(
          '{"file":"cities","key":"London"}',
          "--json",
          "--server-key",
          paths.publicKey,
          ...transport,
        );
        assert.equal(sealed.code, 0, sealed.stderr);
        assert.deepEqual(JSON.parse(sealed.stdout), ["London", "UK", "8866000"]);
        const failed = await run("boom", "--server-key", paths.publicKey, ...transport);
        assert.equal(failed.code, 1);
        assert.match(failed.stderr, /error reply: The handler failed: Error: kaboom/);
      }
    } finally {
      await Deno.remove(keysDir, { recursive: true });
    }
  },
});

Deno.test("query: TCP with TLS answers a client that verifies the server certificate; UDP stays plain", async () => {
  await using pki = await makePki();
  const tls = await loadServerTls({ cert: pki.paths.serverCert, key: pki.paths.serverKey });
  await using f = await fixture({ tls });
  const clientTls = await loadClientTls({ ca: pki.paths.ca });
  const r = await f.ask("people 1", { tls: { ...clientTls, servername: "localhost" } });
  assert.equal(r.text, '{"id":"1","name":"Ada","city":"London"}');
  await assert.rejects(
    () => f.ask("people 1", { tls: { servername: "localhost" } }),
    /Cannot connect/,
  );
  assert.equal((await f.ask("people 2", { transport: "udp" })).error, undefined);
});

Deno.test({
  name:
    "query serve closes TCP connections over --max-per-address from one address and answers the held ones",
  ignore: ownAddress === undefined,
  fn: async () => {
    await using srv = await startDaemon([
      "query",
      "serve",
      "--data",
      "fixtures/query/spec.json",
      "--handler",
      "fixtures/query/handler.ts",
      "--tcp-only",
      "--max-per-address",
      "2",
    ], { host: "0.0.0.0" });
    // Before: no cap; one address could open connections until the server ran out of descriptors.
    const held = await holdUpToCap(srv, 2);
    const c = held[0]!;
    await c.write(enc.encode("0pt0people 1\n"));
    let reply = "";
    const buf = new Uint8Array(1024);
    for (let n; (n = await c.read(buf)) !== null;) {
      reply += new TextDecoder().decode(buf.subarray(0, n));
    }
    assert.match(reply, /Ada Lovelace/);
    for (const h of held) h.close();
    srv.kill("SIGTERM");
    assert.equal((await srv.status).code, 0);
  },
});
