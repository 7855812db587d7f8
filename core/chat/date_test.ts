import assert from "node:assert/strict";
import { formatDate, isDateText } from "./date.ts";

const when = new Date(Date.UTC(2026, 10, 24, 23, 5, 9, 123));

Deno.test("formatDate() writes YYYY-MM-DD in UTC for the date format", () => {
  assert.equal(formatDate(when, "date"), "2026-11-24");
});

Deno.test("formatDate() writes an ISO 8601 UTC timestamp for the iso format", () => {
  assert.equal(formatDate(when, "iso"), "2026-11-24T23:05:09.123Z");
});

Deno.test("isDateText() recognises both formats and rejects other text", () => {
  assert.ok(isDateText("2026-11-24"));
  assert.ok(isDateText("2026-11-24T23:05:09.123Z"));
  assert.ok(!isDateText("olleh"));
  assert.ok(!isDateText("2026-11-24 extra"));
  assert.ok(!isDateText("42-11-6202"));
});
