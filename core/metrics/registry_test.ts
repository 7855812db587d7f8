import assert from "node:assert/strict";
import { DaemonMetrics } from "./registry.ts";

Deno.test("DaemonMetrics labels every series with the service and renders Prometheus text", async () => {
  const m = new DaemonMetrics("search");
  const c = m.counter("search_queries_total", "Queries", ["result"]);
  c.inc({ result: "exists" }, 2);
  m.histogram("search_query_seconds", "Latency", [], [0.001, 0.01]).observe(0.005);
  const text = await m.render();
  assert.match(text, /^# TYPE sockkit_search_queries_total counter$/m);
  assert.match(text, /^sockkit_search_queries_total\{result="exists",service="search"\} 2$/m);
  assert.match(text, /^sockkit_search_query_seconds_bucket\{le="0.001",service="search"\} 0$/m);
  assert.match(text, /^sockkit_search_query_seconds_bucket\{le="0.01",service="search"\} 1$/m);
  assert.match(m.contentType, /^text\/plain; version=0\.0\.4/);
});

Deno.test("DaemonMetrics counters read at scrape time follow running totals, with and without labels", async () => {
  const m = new DaemonMetrics("broker");
  let total = 3;
  const perPeer = new Map([["alice", 1], ["bob", 0]]);
  m.counterFrom("things_total", "Things", () => total);
  m.countersFrom(
    "sent_total",
    "Sent",
    ["peer"],
    () => [...perPeer].map(([peer, n]): [{ peer: string }, number] => [{ peer }, n]),
  );
  let level = 7;
  m.gauge("level", "Level", [], () => level);
  assert.match(await m.render(), /^sockkit_things_total\{service="broker"\} 3$/m);
  total = 10;
  perPeer.set("alice", 4);
  level = 2;
  const text = await m.render();
  assert.match(text, /^sockkit_things_total\{service="broker"\} 10$/m);
  assert.match(text, /^sockkit_sent_total\{peer="alice",service="broker"\} 4$/m);
  assert.match(text, /^sockkit_level\{service="broker"\} 2$/m);
  m.gaugesFrom("queued", "Queued", ["type"], () => [[{ type: "a" }, 5]]);
  assert.match(await m.render(), /^sockkit_queued\{type="a",service="broker"\} 5$/m);
});
