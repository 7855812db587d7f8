import assert from "node:assert/strict";
import { ClientSession } from "./session.ts";

Deno.test("ClientSession counts replies owed, not dates, in plain mode", () => {
  const s = new ClientSession();
  s.sent("hello");
  s.sent("abc  ");
  assert.equal(s.outstanding, 2);
  assert.deepEqual(s.receive("2026-11-24"), { kind: "date", text: "2026-11-24" });
  assert.equal(s.mode, "plain");
  assert.deepEqual(s.receive("olleh"), { kind: "reply", text: "olleh" });
  assert.deepEqual(s.receive("cba"), { kind: "reply", text: "cba" });
  assert.equal(s.outstanding, 0);
});

Deno.test("ClientSession takes an expected reply that looks like a date as a reply", () => {
  const s = new ClientSession();
  s.sent("42-11-6202");
  assert.deepEqual(s.receive("2026-11-24"), { kind: "reply", text: "2026-11-24" });
  assert.equal(s.outstanding, 0);
});

Deno.test("ClientSession reads plain error lines", () => {
  const s = new ClientSession();
  assert.deepEqual(s.receive("error: Server full"), { kind: "error", text: "Server full" });
});

Deno.test("ClientSession detects JSON lines and reads msg_type", () => {
  const s = new ClientSession();
  s.sent("hi");
  assert.deepEqual(s.receive('{"msg_type":"date","payload":"2026-11-24"}'), {
    kind: "date",
    text: "2026-11-24",
  });
  assert.equal(s.mode, "json");
  assert.equal(s.outstanding, 1);
  assert.deepEqual(s.receive('{"msg_type":"string","payload":"ih"}'), {
    kind: "reply",
    text: "ih",
  });
  assert.deepEqual(s.receive('{"msg_type":"error","payload":"going away"}'), {
    kind: "error",
    text: "going away",
  });
  assert.equal(s.outstanding, 0);
});

Deno.test("ClientSession with json: true reads a JSON reply that looks like a date as a reply", () => {
  const s = new ClientSession({ json: true });
  s.sent("x");
  assert.deepEqual(s.receive('{"msg_type":"string","payload":"2026-11-24"}'), {
    kind: "reply",
    text: "2026-11-24",
  });
  assert.equal(s.outstanding, 0);
});
