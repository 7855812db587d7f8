/**
 * The descriptor limit of a running daemon under test: how low to set it so
 * that only a few descriptors are left, and setting it with `prlimit`.
 */
import assert from "node:assert/strict";
import { delay } from "../../core/async/mod.ts";

/**
 * The descriptor limit that leaves process `pid` exactly `spare` free
 * descriptors (numbers below the limit not open), once its open ones have
 * not changed for 300 ms.
 */
export async function limitLeaving(pid: number, spare: number): Promise<number> {
  const open = () => [...Deno.readDirSync(`/proc/${pid}/fd`)].map((e) => Number(e.name)).sort();
  let last = open().join();
  for (let same = 0; same < 3;) {
    await delay(100);
    const now = open().join();
    same = now === last ? same + 1 : 0;
    last = now;
  }
  const held = new Set(last.split(",").map(Number));
  let n = 0;
  for (let free = 0; free < spare || held.has(n); n++) if (!held.has(n)) free++;
  return n;
}

/** Sets the running process `pid`'s soft descriptor limit with prlimit (the hard one stays). */
export async function setNoFile(pid: number, soft: number): Promise<void> {
  const p = await new Deno.Command("prlimit", {
    args: ["--pid", String(pid), `--nofile=${soft}:`],
  }).output();
  assert.ok(p.success, new TextDecoder().decode(p.stderr));
}
