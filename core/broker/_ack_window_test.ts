import assert from "node:assert/strict";
import { FakeClock } from "../async/mod.ts";
import { AckWindow, LAZY_ACK_MS } from "./_ack_window.ts";

/** An ack window whose commits and acknowledgements are recorded. */
function window() {
  const clock = new FakeClock();
  const commits: boolean[] = [];
  const sent: number[] = [];
  const w = new AckWindow({
    clock,
    commit: (background) => {
      commits.push(background);
      return Promise.resolve();
    },
    send: (n) => sent.push(n),
  });
  return { w, clock, commits, sent };
}

Deno.test("AckWindow: a message that asks for an acknowledgement is committed at once, in the foreground", async () => {
  const { w, commits, sent } = window();
  w.received(true);
  w.chunkDone();
  await w.chain;
  assert.deepEqual(commits, [false]);
  assert.deepEqual(sent, [1]);
});

Deno.test("AckWindow: acknowledgements nobody waits for are held back together, and committed in the background", async () => {
  const { w, clock, commits, sent } = window();
  w.received(false);
  w.chunkDone();
  clock.advance(LAZY_ACK_MS - 1);
  w.received(false);
  w.chunkDone();
  await w.chain;
  assert.deepEqual(commits, [], "nothing before the hold ends");
  clock.advance(1);
  await w.chain;
  assert.deepEqual(commits, [true], "one background commit for both");
  assert.deepEqual(sent, [2]);
});

Deno.test("AckWindow: a message asking for an acknowledgement ends the hold of the ones before it", async () => {
  const { w, clock, commits, sent } = window();
  w.received(false);
  w.chunkDone();
  w.received(true);
  w.chunkDone();
  await w.chain;
  assert.deepEqual(commits, [false]);
  assert.deepEqual(sent, [2]);
  clock.advance(LAZY_ACK_MS); // the held-back timer was stopped: nothing more
  await w.chain;
  assert.deepEqual(commits, [false]);
});
