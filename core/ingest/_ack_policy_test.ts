import assert from "node:assert/strict";
import { AckPolicy } from "./_ack_policy.ts";

/** A policy whose lines land in an array. */
function policy(ack: boolean) {
  const lines: string[] = [];
  const acks = new AckPolicy((line) => {
    lines.push(line);
    return Promise.resolve();
  }, { ack });
  return { acks, lines };
}

const turn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

Deno.test('AckPolicy writes one {"ok":N} for the batches that settle in one turn', async () => {
  const { acks, lines } = policy(true);
  for (let i = 0; i < 5; i++) acks.accept();
  acks.settled({ stored: 2, failed: 0, reason: undefined, spooled: false });
  acks.settled({ stored: 3, failed: 0, reason: undefined, spooled: false });
  await turn();
  assert.deepEqual(lines, ['{"ok":5}\n']);
  await acks.allSettled();
  await acks.final();
  assert.deepEqual(lines, ['{"ok":5}\n', '{"ok":5}\n']);
});

Deno.test("AckPolicy says how many of the stored objects wait in the spool and what Redis refused", async () => {
  const { acks, lines } = policy(true);
  for (let i = 0; i < 4; i++) acks.accept();
  acks.settled({ stored: 2, failed: 0, reason: undefined, spooled: true });
  acks.settled({ stored: 1, failed: 1, reason: "WRONGTYPE x", spooled: false });
  await turn();
  assert.deepEqual(lines, [
    '{"error":"Redis refused the write: WRONGTYPE x","failed":1}\n',
    '{"ok":3,"spooled":2}\n',
  ]);
  assert.equal(acks.stored, 3);
});

Deno.test("AckPolicy.allSettled() waits until every accepted object is stored or refused", async () => {
  const { acks } = policy(false);
  acks.accept();
  acks.accept();
  let settled = false;
  const waiting = acks.allSettled().then(() => void (settled = true));
  acks.settled({ stored: 1, failed: 0, reason: undefined, spooled: false });
  await turn();
  assert.equal(settled, false);
  acks.settled({ stored: 0, failed: 1, reason: "ERR", spooled: false });
  await waiting;
  assert.equal(settled, true);
});

Deno.test("AckPolicy without ack never writes", async () => {
  const { acks, lines } = policy(false);
  acks.accept();
  acks.settled({ stored: 0, failed: 1, reason: "ERR", spooled: false });
  acks.error("not a JSON object: got array");
  await acks.final();
  await turn();
  assert.deepEqual(lines, []);
});
