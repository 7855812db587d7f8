import assert from "node:assert/strict";
import { encodeMessage, parseJsonMessage } from "./message.ts";

Deno.test("encodeMessage() writes plain lines, errors prefixed", () => {
  assert.equal(encodeMessage({ type: "date", payload: "2026-11-24" }, false), "2026-11-24\n");
  assert.equal(encodeMessage({ type: "string", payload: "olleh" }, false), "olleh\n");
  assert.equal(
    encodeMessage({ type: "error", payload: "Server full" }, false),
    "error: Server full\n",
  );
});

Deno.test("encodeMessage() writes JSON lines with msg_type and payload", async (t) => {
  for (const type of ["date", "string", "error"] as const) {
    await t.step(type, () => {
      const line = encodeMessage({ type, payload: 'a "q"\t✓' }, true);
      assert.ok(line.endsWith("\n") && !line.slice(0, -1).includes("\n"));
      assert.deepEqual(JSON.parse(line), { msg_type: type, payload: 'a "q"\t✓' });
    });
  }
});

Deno.test("parseJsonMessage() round-trips encodeMessage() and rejects other lines", () => {
  const msg = { type: "string" as const, payload: "}{ olleh" };
  assert.deepEqual(parseJsonMessage(encodeMessage(msg, true).trimEnd()), msg);
  assert.equal(parseJsonMessage("olleh"), undefined);
  assert.equal(parseJsonMessage("{not json"), undefined);
  assert.equal(parseJsonMessage('{"msg_type":"other","payload":"x"}'), undefined);
  assert.equal(parseJsonMessage('{"payload":"x"}'), undefined);
});
