import assert from "node:assert/strict";
import { PeerTable } from "./_peer_table.ts";

Deno.test("a journal kept for an unknown name does not collide with a client named NAME.unknown, and its mark survives a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-peers-" });
  try {
    const table = () =>
      new PeerTable({
        name: "srv",
        dir,
        journal: { fsync: false },
        serverName: undefined,
        queueForUnknown: true,
        maxUnknownJournals: 1,
      });
    const first = table();
    await first.openExisting();
    first.route("x", "alice"); // "x" never connected: counted, marked on disk
    // A client really named "x.unknown" gets its own journal beside it.
    first.get("x.unknown");
    assert.ok((await Deno.stat(`${dir}/x.unknown`)).isDirectory);
    // After a restart the mark is read back: the one allowed unknown journal is taken.
    const again = table();
    await again.openExisting();
    assert.throws(() => again.route("y", "alice"), /--max-unknown-journals 1/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
