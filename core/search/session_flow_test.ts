import assert from "node:assert/strict";
import { type Connection, memoryPair } from "../net/mod.ts";
import type { Matcher } from "./matcher.ts";
import { type QueryResult, serveSearchSession, type SessionOptions } from "./session.ts";
import { stalledConnection } from "../../tests/harness/mod.ts";

const dec = new TextDecoder();
const turn = () => new Promise<void>((r) => setTimeout(r, 0));

/** A matcher whose answers wait until the test settles them, by query. */
function heldMatcher() {
  const held = new Map<string, PromiseWithResolvers<boolean>>();
  const matcher: Matcher = {
    mode: "index",
    problem: undefined,
    match: (q) => {
      const query = dec.decode(q);
      if (query === "throw") throw new Error("matcher broke\non two lines");
      const d = Promise.withResolvers<boolean>();
      held.set(query, d);
      return d.promise;
    },
    close: () => Promise.resolve(),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
  const settle = (query: string, found: boolean | Error) => {
    const d = held.get(query);
    assert.ok(d, `query "${query}" reached the matcher`);
    if (found instanceof Error) d.reject(found);
    else d.resolve(found);
  };
  return { matcher, held, settle };
}

function session(matcher: Matcher, options: Partial<SessionOptions> = {}) {
  const [client, server] = memoryPair({ serverPolicy: { allowHalfOpen: true } });
  const ac = new AbortController();
  const done = serveSearchSession(server, ac.signal, { matcher, idleMs: 10_000, ...options });
  const chunks: string[] = [];
  let ended = false;
  client.receive({ data: (b) => void chunks.push(dec.decode(b)), end: () => void (ended = true) });
  return {
    client,
    server: server as Connection,
    done,
    ac,
    chunks,
    text: () => chunks.join(""),
    ended: () => ended,
  };
}

Deno.test("search session answers in query order when answers settle out of order", async () => {
  const m = heldMatcher();
  const s = session(m.matcher);
  s.client.send("a\nb\nc\n");
  await turn();
  m.settle("c", true);
  m.settle("b", false);
  await turn();
  assert.equal(s.text(), "", "no reply overtakes the first query's");
  m.settle("a", true);
  await turn();
  assert.equal(s.text(), "STRING EXISTS\nSTRING NOT FOUND\nSTRING EXISTS\n");
  assert.equal(s.chunks.length, 1, "replies ready together go out in one write");
  s.client.destroy();
  await s.done;
});

Deno.test("search session answers a failing matcher with an error line and goes on", async () => {
  const m = heldMatcher();
  const results: QueryResult[] = [];
  const s = session(m.matcher, { onAnswer: (r) => void results.push(r) });
  s.client.send("throw\nx\ny\n");
  await turn();
  m.settle("x", new Error("index gone"));
  m.settle("y", true);
  await turn();
  assert.equal(
    s.text(),
    "ERROR: matcher broke on two lines\nERROR: index gone\nSTRING EXISTS\n",
  );
  assert.deepEqual(results, ["error", "error", "exists"]);
  s.client.destroy();
  await s.done;
});

Deno.test("search session frames no more than maxInFlight unanswered queries, even from one chunk", async () => {
  const m = heldMatcher();
  const s = session(m.matcher, { maxInFlight: 2 });
  s.client.send("q0\nq1\nq2\nq3\npartial");
  await turn();
  assert.deepEqual([...m.held.keys()], ["q0", "q1"], "the rest of the chunk waits");
  assert.equal(s.server.paused, true, "two unanswered queries reach the limit of two");
  s.client.send("q4\n");
  await turn();
  assert.equal(m.held.has("q4"), false, "a paused session reads no further query");
  m.settle("q1", false);
  await turn();
  assert.equal(m.held.has("q2"), false, "q0 is still unanswered");
  m.settle("q0", true);
  await turn();
  assert.deepEqual([...m.held.keys()], ["q0", "q1", "q2", "q3"], "framing resumes from the rest");
  assert.equal(s.server.paused, true);
  m.settle("q2", true);
  m.settle("q3", false);
  await turn();
  await turn();
  assert.equal(s.server.paused, false, "reading resumes once the chunk is framed");
  assert.equal(m.held.has("partialq4"), true, "the partial query continues in the next chunk");
  m.settle("partialq4", true);
  await turn();
  assert.equal(
    s.text(),
    "STRING EXISTS\nSTRING NOT FOUND\nSTRING EXISTS\nSTRING NOT FOUND\nSTRING EXISTS\n",
  );
  s.client.destroy();
  await s.done;
});

Deno.test("search session answers a half-closed client's whole chunk past maxInFlight, in order", async () => {
  const m = heldMatcher();
  const s = session(m.matcher, { maxInFlight: 2 });
  s.client.send("a\nb\nc\nd\ne");
  const ended = s.client.end(); // half-close: resolves once the server ends too
  for (const batch of [["a", "b"], ["c", "d"], ["e"]]) {
    await turn();
    await turn();
    assert.deepEqual([...m.held.keys()].slice(-batch.length), batch);
    for (const q of batch) m.settle(q, q !== "c");
  }
  await ended;
  await s.done;
  assert.equal(
    s.text(),
    "STRING EXISTS\nSTRING EXISTS\nSTRING NOT FOUND\nSTRING EXISTS\nSTRING EXISTS\n",
  );
  assert.equal(s.ended(), true);
});

Deno.test("search session passes its connection as the client, the same for each of its queries", async () => {
  const seen: Array<object | undefined> = [];
  const matcher: Matcher = {
    mode: "reread",
    problem: undefined,
    match: (_q, options) => {
      seen.push(options?.client);
      return true;
    },
    close: () => Promise.resolve(),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
  const a = session(matcher);
  const b = session(matcher);
  a.client.send("x\ny\n");
  b.client.send("z\n");
  await turn();
  assert.equal(seen.length, 3);
  assert.ok(seen[0] !== undefined && seen[0] === seen[1], "one client per connection");
  assert.notEqual(seen[2], seen[0], "another connection is another client");
  a.client.destroy();
  b.client.destroy();
  await Promise.all([a.done, b.done]);
});

Deno.test("search session on abort writes the replies owed, then ends the socket", async () => {
  const m = heldMatcher();
  const s = session(m.matcher);
  s.client.send("a\nb\n");
  await turn();
  s.ac.abort();
  s.client.send("late\n");
  await turn();
  assert.equal(m.held.has("late"), false, "no query is read after the abort");
  assert.equal(s.ended(), false, "the socket stays open while replies are owed");
  m.settle("b", true);
  m.settle("a", false);
  await turn();
  assert.equal(s.text(), "STRING NOT FOUND\nSTRING EXISTS\n");
  assert.equal(s.ended(), true);
  s.client.destroy();
  await s.done;
});

Deno.test("search session stops reading while the client does not read its replies", async () => {
  const s = stalledConnection(16);
  const asked: string[] = [];
  const matcher: Matcher = {
    mode: "index",
    problem: undefined,
    match: (q) => {
      asked.push(dec.decode(q));
      return true;
    },
    close: () => Promise.resolve(),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
  const done = serveSearchSession(s.conn, new AbortController().signal, { matcher });
  s.input(new TextEncoder().encode("a\nb\n"));
  await turn();
  assert.equal(s.conn.paused, true, "28 reply bytes unsent exceed the 16 byte high water mark");
  s.input(new TextEncoder().encode("c\n"));
  await turn();
  assert.deepEqual(asked, ["a", "b"], "no query is read while replies wait");
  s.release();
  await turn();
  await turn();
  assert.equal(s.conn.paused, false);
  assert.deepEqual(asked, ["a", "b", "c"]);
  assert.equal(s.taken(), 3 * "STRING EXISTS\n".length);
  s.conn.destroy();
  await done;
});
