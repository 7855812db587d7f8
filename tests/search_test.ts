/**
 * Integration tests of `sockkit search`: real sockets (plain and TLS), files
 * written by the tests, the CLI as a subprocess.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { join } from "node:path";
import { createLogger } from "../core/log/mod.ts";
import { loadClientTls, loadServerTls } from "../core/pki/mod.ts";
import {
  SearchClient,
  type SearchClientOptions,
  type SearchServer,
  type SearchServerOptions,
  startSearchServer,
} from "../core/search/mod.ts";
import { type CliResult, makePki, runCli, spawnCli, tempDir, waitUntil } from "./harness/mod.ts";

const LINES = [
  "apple",
  "banana split",
  "  padded both  ",
  "café au lait",
  "日本語の行",
  "emoji 🎉 line",
  "last line without newline",
];

/** A temp dir with `words.txt` (mixed `\n`/`\r\n` endings, no final newline). */
async function tempWords(): Promise<{ dir: string; file: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-search-test-" });
  const file = join(dir, "words.txt");
  const body = LINES.slice(0, 3).join("\n") + "\r\n" + LINES.slice(3).join("\r\n");
  await Deno.writeTextFile(file, body);
  return {
    dir,
    file,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** Serves `words` on 127.0.0.1, a free port, with `options`. */
function serveWords(
  words: { file: string },
  options: Omit<SearchServerOptions, "file" | "host" | "port"> = {},
): Promise<SearchServer> {
  return startSearchServer({ file: words.file, host: "127.0.0.1", port: 0, ...options });
}

/** A client of `server` on 127.0.0.1. */
function clientOf(
  server: SearchServer,
  options: Omit<SearchClientOptions, "host" | "port"> = {},
): Promise<SearchClient> {
  return SearchClient.connect({ host: "127.0.0.1", port: server.port, ...options });
}

/** Sends raw bytes on a fresh plain connection; resolves with everything received until close. */
function exchange(
  port: number,
  data: string | Uint8Array,
  opts: { halfClose?: boolean; untilLines?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.write(data);
      if (opts.halfClose) socket.end();
    });
    let got = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      got += d;
      if (opts.untilLines !== undefined && got.split("\n").length - 1 >= opts.untilLines) {
        socket.destroy();
        resolve(got);
      }
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(got));
  });
}

for (const reread of [false, true]) {
  const mode = reread ? "reread" : "index";
  Deno.test(`search (${mode} mode) matches whole lines byte for byte`, async (t) => {
    await using words = await tempWords();
    await using server = await serveWords(words, { rereadOnQuery: reread, workers: 1 });
    await using client = await clientOf(server);
    const cases: Array<[string, string | Uint8Array, boolean]> = [
      ["found", "apple", true],
      ["not found", "cherry", false],
      ["partial line does not match", "banana", false],
      ["a line's suffix does not match", "split", false],
      ["leading and trailing spaces are significant", "padded both", false],
      ["the exact padded line matches", "  padded both  ", true],
      ["\\x00-padded query matches", "apple\x00\x00\x00\x00", true],
      ["\\r\\n file lines match", "café au lait", true],
      ["non-ASCII lines match", "日本語の行", true],
      ["emoji line matches", "emoji 🎉 line", true],
      ["last line without newline matches", "last line without newline", true],
      ["empty query is not found", "", false],
      ["case matters", "Apple", false],
      ["a different byte sequence for the same text does not match", "cafe\u0301 au lait", false],
    ];
    for (const [name, query, want] of cases) {
      await t.step(name, async () => assert.equal(await client.query(query), want));
    }
  });
}

Deno.test("search answers a one-shot query sent without newline, after a pause or a half-close", async () => {
  await using words = await tempWords();
  await using server = await serveWords(words);
  assert.equal(await exchange(server.port, "apple", { untilLines: 1 }), "STRING EXISTS\n");
  assert.equal(
    await exchange(server.port, "nope\x00\x00", { untilLines: 1 }),
    "STRING NOT FOUND\n",
  );
  assert.equal(await exchange(server.port, "apple\r", { halfClose: true }), "STRING EXISTS\n");
  assert.equal(
    await exchange(server.port, "apple\nbanana split", { halfClose: true }),
    "STRING EXISTS\nSTRING EXISTS\n",
  );
});

Deno.test("search answers 1000 newline-terminated queries on one connection in order", async () => {
  await using words = await tempWords();
  for (const reread of [false, true]) {
    await using server = await serveWords(words, { rereadOnQuery: reread, workers: 2 });
    const queries = Array.from(
      { length: 1000 },
      (_, i) => i % 3 === 0 ? `miss-${i}` : LINES[i % LINES.length]!,
    );
    const reply = await exchange(server.port, queries.join("\n") + "\n", { untilLines: 1000 });
    const got = reply.split("\n").slice(0, -1);
    assert.equal(got.length, 1000);
    got.forEach((line, i) =>
      assert.equal(
        line,
        i % 3 === 0 ? "STRING NOT FOUND" : "STRING EXISTS",
        `reply ${i} (${reread ? "reread" : "index"})`,
      )
    );
  }
});

Deno.test("search answers a NUL-padded buffer once, without counting the padding toward the limit", async (t) => {
  await using words = await tempWords();
  await using server = await serveWords(words);
  const padded = (text: string, size: number) => {
    const buf = new Uint8Array(size);
    buf.set(new TextEncoder().encode(text));
    return buf;
  };
  /** Sends `data`, waits past the idle answer (50 ms), half-closes, and returns every reply. */
  const sendPaused = (data: Uint8Array) =>
    new Promise<string>((resolve, reject) => {
      const socket = net.connect(server.port, "127.0.0.1", () => {
        socket.write(data);
        setTimeout(() => socket.end(), 300);
      });
      let got = "";
      socket.setEncoding("utf8");
      socket.on("data", (d: string) => got += d);
      socket.on("error", reject);
      socket.on("close", () => resolve(got));
    });
  const cases: Array<[string, Uint8Array]> = [
    ["apple\\n padded to 1024 bytes", padded("apple\n", 1024)],
    ["apple\\r\\n padded to 1024 bytes", padded("apple\r\n", 1024)],
    ["apple padded to 1025 bytes, no newline", padded("apple", 1025)],
  ];
  for (const [name, data] of cases) {
    await t.step(`${name}, then a pause`, async () => {
      assert.equal(await sendPaused(data), "STRING EXISTS\n");
    });
    await t.step(`${name}, then a half-close`, async () => {
      assert.equal(await exchange(server.port, data, { halfClose: true }), "STRING EXISTS\n");
    });
  }
  await t.step("a zeroed buffer alone is an empty query: one STRING NOT FOUND", async () => {
    assert.equal(await sendPaused(new Uint8Array(1024)), "STRING NOT FOUND\n");
    assert.equal(
      await exchange(server.port, new Uint8Array(1024), { halfClose: true }),
      "STRING NOT FOUND\n",
    );
  });
  await t.step("1025 bytes that are not padding are still too long", async () => {
    const reply = await exchange(server.port, "x".repeat(1025), { halfClose: true });
    assert.match(reply, /^ERROR: query too long: .*1024 byte limit\n$/);
  });
});

Deno.test("search in reread mode answers a client's query ahead of another client's flood, and the flood in order", async () => {
  await using words = await tempWords();
  // About 3 MB, read by both workers: each read takes a few ms, and the
  // flood of 8000 queries needs at least 32 reads of 256.
  const lines = Array.from({ length: 250_000 }, (_, i) => `line-${i}`);
  await Deno.writeTextFile(words.file, lines.join("\n") + "\n");
  await using server = await serveWords(words, { rereadOnQuery: true, workers: 2 });
  const n = 8000;
  const queries = Array.from({ length: n }, (_, i) => i % 2 === 0 ? `line-${i * 31}` : `nope-${i}`);
  const flooder = net.connect(server.port, "127.0.0.1");
  let replies = "";
  let count = 0;
  const flooded = new Promise<void>((resolve, reject) => {
    flooder.setEncoding("utf8");
    flooder.on("data", (d: string) => {
      replies += d;
      count += d.split("\n").length - 1;
      if (count >= n) resolve();
    });
    flooder.on("error", reject);
    flooder.on("close", () => resolve());
  });
  try {
    flooder.write(queries.join("\n") + "\n"); // one write
    await waitUntil(() => count > 0, { timeoutMs: 10_000 }); // the server is working on the flood
    const victim = await exchange(server.port, "line-7\n", { untilLines: 1 });
    const flooderAnswered = count;
    assert.equal(victim, "STRING EXISTS\n");
    assert.ok(
      flooderAnswered < n / 2,
      `the victim waited for ${flooderAnswered} of the flooder's ${n} queries`,
    );
    await flooded;
    const got = replies.split("\n").slice(0, -1);
    assert.equal(got.length, n);
    got.forEach((line, i) =>
      assert.equal(line, i % 2 === 0 ? "STRING EXISTS" : "STRING NOT FOUND", `flood reply ${i}`)
    );
  } finally {
    flooder.destroy();
  }
});

Deno.test("search answers a 1025-byte query with an error line, closes, and keeps serving", async () => {
  await using words = await tempWords();
  const long = "x".repeat(1024);
  await Deno.writeTextFile(words.file, `${long}\napple\n`);
  await using server = await serveWords(words);
  const reply = await exchange(server.port, `apple\n${long}y\nnever answered\n`);
  const lines = reply.split("\n");
  assert.equal(lines[0], "STRING EXISTS");
  assert.match(lines[1]!, /^ERROR: query too long: .*1024 byte limit/);
  assert.equal(lines.length, 3, "the connection closes after the error line");
  // Without a newline too, and a 1024-byte query is fine.
  assert.match(await exchange(server.port, long + "yy"), /^ERROR: query too long/);
  await using client = await clientOf(server);
  assert.equal(await client.query(long), true);
  assert.equal(await client.query("apple"), true);
});

Deno.test("search in reread mode sees an appended line on the very next query", async () => {
  await using words = await tempWords();
  await using server = await serveWords(words, { rereadOnQuery: true });
  await using client = await clientOf(server);
  for (let i = 0; i < 5; i++) {
    assert.equal(await client.query(`appended-${i}`), false);
    await Deno.writeTextFile(words.file, `\nappended-${i}`, { append: true });
    assert.equal(await client.query(`appended-${i}`), true);
  }
});

Deno.test("search in index mode sees an appended or replaced file after the rebuild", async () => {
  await using words = await tempWords();
  await using server = await serveWords(words, { pollMs: 5000 });
  await using client = await clientOf(server);
  assert.equal(await client.query("appended"), false);
  await Deno.writeTextFile(words.file, "\nappended\n", { append: true });
  await waitUntil(() => client.query("appended"), { what: "the appended line", timeoutMs: 10_000 });
  // Replaced atomically by rename.
  const tmp = join(words.dir, "words.txt.tmp");
  await Deno.writeTextFile(tmp, "replacement\n");
  await Deno.rename(tmp, words.file);
  await waitUntil(() => client.query("replacement"), {
    what: "the replaced file",
    timeoutMs: 10_000,
  });
  assert.equal(await client.query("apple"), false);
});

Deno.test("search replies with an error while the file is gone, logs it once, is not ready, and recovers when it returns", async (t) => {
  for (const reread of [false, true]) {
    await t.step(reread ? "reread mode" : "index mode", async () => {
      await using words = await tempWords();
      const logs: string[] = [];
      const logger = createLogger({ level: "info", sink: (l) => logs.push(l) });
      await using server = await serveWords(words, { rereadOnQuery: reread, pollMs: 100, logger });
      await using client = await clientOf(server);
      assert.equal(await client.query("apple"), true);
      assert.equal(server.ready().ready, true);
      await Deno.rename(words.file, words.file + ".away");
      await waitUntil(
        () =>
          client.query("apple").then(
            () => false,
            (err: Error) => /file not found/.test(err.message),
          ),
        { what: "an error reply" },
      );
      await assert.rejects(client.query("banana split"), /file not found/);
      const unavailable = logs.filter((l) =>
        /WARN\s+search file unavailable .*file not found/.test(l)
      );
      assert.equal(unavailable.length, 1, logs.join("\n"));
      assert.deepEqual(
        {
          ...server.ready(),
          detail: /search file unavailable: .*file not found/.test(server.ready().detail),
        },
        { ready: false, detail: true },
      );
      await Deno.rename(words.file + ".away", words.file);
      await waitUntil(() => client.query("apple"), { what: "recovery" });
      assert.ok(logs.some((l) => /INFO\s+search file is back/.test(l)), logs.join("\n"));
      assert.equal(server.ready().ready, true);
    });
  }
});

Deno.test("search replies with an error while the file is a FIFO or a device, and serves and closes as before once it is a file again", async (t) => {
  for (const reread of [false, true]) {
    await t.step(reread ? "reread mode" : "index mode", async () => {
      await using words = await tempWords();
      await using server = await serveWords(words, { rereadOnQuery: reread, pollMs: 100 });
      await using client = await clientOf(server);
      assert.equal(await client.query("apple"), true);
      await Deno.rename(words.file, words.file + ".away");
      // Before: a FIFO with no writer blocked each worker in open() for good (the server then
      // answered no one and did not exit on close), and /dev/zero was read without end.
      for (const swap of [() => mkfifo(words.file), () => Deno.symlink("/dev/zero", words.file)]) {
        await swap();
        for (let i = 0; i < 3; i++) {
          await waitUntil(
            () =>
              client.query(`apple`).then(
                () => false,
                (err: Error) =>
                  /it is not a regular file \(a FIFO, socket or device\)/.test(err.message),
              ),
            { what: "an error reply" },
          );
        }
        await Deno.remove(words.file);
      }
      await Deno.rename(words.file + ".away", words.file);
      await waitUntil(() => client.query("apple"), { what: "recovery" });
    });
  }
});

/** Makes a FIFO at `path` (mkfifo(1)). */
async function mkfifo(path: string): Promise<void> {
  const { success } = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.ok(success, `mkfifo ${path}`);
}

Deno.test("search gives 200 concurrent clients correct answers", async () => {
  await using words = await tempWords();
  await using server = await serveWords(words);
  const results = await Promise.all(Array.from({ length: 200 }, async (_, i) => {
    await using client = await clientOf(server);
    const line = LINES[i % LINES.length]!;
    return [await client.query(line), await client.query(`${line}!`)];
  }));
  assert.equal(results.length, 200);
  for (const [hit, miss] of results) {
    assert.equal(hit, true);
    assert.equal(miss, false);
  }
});

Deno.test("search over TLS answers queries and can require client certificates", async () => {
  await using words = await tempWords();
  await using pki = await makePki({ clients: ["alice"] });
  const tls = await loadServerTls({
    cert: pki.paths.serverCert,
    key: pki.paths.serverKey,
    clientCerts: pki.paths.allowList,
  });
  await using server = await serveWords(words, { tls, requireClientCert: true });
  const alice = await loadClientTls({ ca: pki.paths.ca, ...pki.client("alice") });
  await using client = await clientOf(server, { tls: { ...alice, servername: "localhost" } });
  assert.equal(await client.query("apple"), true);
  assert.equal(await client.query("日本語の行"), true);
  assert.equal(await client.query("nothing"), false);
  // No client certificate: refused.
  const anonymous = await loadClientTls({ ca: pki.paths.ca });
  await assert.rejects(async () => {
    await using c = await clientOf(server, {
      tls: { ...anonymous, servername: "localhost" },
      answerTimeoutMs: 10_000,
    });
    await c.query("apple");
  });
});

Deno.test("search logs each query at debug level with client, query, result and microseconds", async () => {
  await using words = await tempWords();
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", format: "json", sink: (l) => lines.push(l) });
  await using server = await serveWords(words, { logger });
  await using client = await clientOf(server);
  await client.query("apple");
  await client.query("pear");
  const queries = lines.map((l) => JSON.parse(l)).filter((o) => o.msg === "query");
  assert.equal(queries.length, 2);
  assert.equal(queries[0].query, "apple");
  assert.equal(queries[0].result, "EXISTS");
  assert.equal(queries[1].result, "NOT FOUND");
  assert.equal(queries[0].client, "127.0.0.1");
  assert.equal(typeof queries[0].us, "number");
  assert.match(queries[0].time, /^\d{4}-\d\d-\d\dT/);
});

/** Runs `sockkit search query LINE --port PORT FLAGS...`. */
function searchQuery(port: number, line: string, flags: string[] = []): Promise<CliResult> {
  return runCli(["search", "query", line, "--port", String(port), ...flags]);
}

Deno.test("sockkit search serve reads a config file with unrelated entries; search query exits 0/1/2", async () => {
  await using words = await tempWords();
  await using pki = await makePki();
  const conf = join(words.dir, "server.conf");
  await Deno.writeTextFile(
    conf,
    [
      "# settings of several programs",
      "log_dir=/var/log/app",
      "odd line without equals",
      `linuxpath=${words.file}`,
      "reread_on_query=True",
      "ssl_enabled=False",
      "port=0",
      "[database]",
      "user=postgres",
      "password=secret",
    ].join("\n"),
  );
  await t_serve(["search", "serve", "--config", conf, "--host", "127.0.0.1"], async (port) => {
    const q = (s: string) => searchQuery(port, s);
    const found = await q("apple");
    assert.equal(found.code, 0, found.stderr);
    assert.equal(found.stdout.trim(), "STRING EXISTS");
    const missing = await q("cherry");
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout.trim(), "STRING NOT FOUND");
  }, /reread mode/);
  // TLS on from the command line over the same config.
  await t_serve(
    ["search", "serve", "--config", conf, "--host", "127.0.0.1", "--tls", "--certs", pki.dir],
    async (port) => {
      const r = await searchQuery(port, "apple", [
        "--tls",
        "--certs",
        pki.dir,
        "--host",
        "localhost",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const plain = await searchQuery(port, "apple", ["--timeout", "3000"]);
      assert.equal(plain.code, 2);
    },
    /TLS/,
  );
  const refused = await searchQuery(1, "apple");
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /Cannot connect/);
});

Deno.test("sockkit search exits 2 with a clear message for a missing file, missing certificates or bad usage", async () => {
  const r = await runCli(["search", "serve", "--file", "/nonexistent/words.txt", "--port", "0"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Cannot read search file "\/nonexistent\/words.txt": file not found/);
  const bad = await runCli([
    "search",
    "serve",
    "--file",
    "x",
    "--reread-on-query",
    "--port",
    "99999",
  ]);
  assert.equal(bad.code, 2);
  const noCerts = await runCli([
    "search",
    "serve",
    "--file",
    "x",
    "--tls",
    "--certs",
    "/nonexistent",
  ]);
  assert.equal(noCerts.code, 2);
  assert.match(noCerts.stderr, /sockkit certs init/);
  const usage = await runCli(["search", "query"]);
  assert.equal(usage.code, 2);
});

Deno.test("sockkit search query exits 2 when a server accepts but never answers", async () => {
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
  });
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  try {
    const port = (silent.address() as net.AddressInfo).port;
    const r = await searchQuery(port, "apple", ["--timeout", "300"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /No answer from the search server within 300 ms/);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  }
});

/** Runs `sockkit ARGS` until it says it listens, calls `fn(port)`, then stops it with SIGINT (exit 0). */
async function t_serve(
  args: string[],
  fn: (port: number) => Promise<void>,
  expect: RegExp,
): Promise<void> {
  await using srv = spawnCli(args);
  const m = await srv.waitForLine(/listening on [^ ]*:(\d+) (.*)$/);
  assert.match(m[2]!, expect);
  await fn(Number(m[1]));
  srv.kill("SIGINT");
  assert.equal((await srv.status).code, 0, srv.stderrText());
}

Deno.test("sockkit search bench --json writes the report and chart and prints one JSON line", async () => {
  await using outDir = await tempDir("sockkit-search-bench-test-");
  const out = outDir.path;
  const r = await runCli(
    [
      "search",
      "bench",
      "--sizes",
      "500,2000",
      "--queries",
      "6",
      "--load-seconds",
      "1",
      "--json",
      "--out",
      out,
    ],
    { timeoutMs: 120_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  const data = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
  assert.equal(data.service, "search");
  const figures = data.rows.map((row: { figure: string }) => row.figure);
  assert.ok(
    figures.some((f: string) => /^reread p50, 2,000 lines \(in a worker/.test(f)),
    figures.join("; "),
  );
  assert.ok(figures.includes("cached queries/s, TLS, 32 connections"), figures.join("; "));
  const floor = data.rows.find((row: { figure: string }) =>
    row.figure === "reread floor p50, 2,000 lines (the file read alone, no search, one thread)"
  );
  assert.ok(floor?.value > 0, figures.join("; "));
  assert.equal(floor.target, undefined); // a floor has no target
  const reread = data.rows.find((row: { figure: string }) => row.figure.startsWith("reread p50"));
  assert.equal(reread.anchor, "grep -Fxq per query");
  assert.ok(reread.anchorValue > 0);
  const report = await Deno.readTextFile(join(out, "report.md"));
  assert.match(report, /The server uses `simd-worker`/);
  assert.match(report, /grep -Fxq/);
  assert.match(report, /reading the file alone, with no search \(`read-floor`, one thread\), took/);
  assert.match(await Deno.readTextFile(join(out, "chart.svg")), /<svg/);
  assert.doesNotMatch(r.stderr, /WRONG/);
});

Deno.test("sockkit search load prints queries/s and p50/p99 per concurrency level", async () => {
  const r = await runCli(
    ["search", "load", "--concurrency", "1,4", "--duration", "1", "--lines", "1000"],
    { timeoutMs: 60_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.split("\n").filter((l) => /^\s+\d+\s+[\d,]+\s/.test(l));
  assert.equal(rows.length, 2, r.stdout);
  assert.match(r.stdout, /no errors or timeouts at any level/);
});
