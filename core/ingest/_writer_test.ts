import assert from "node:assert/strict";
import { tempDir, waitUntil } from "../../tests/harness/mod.ts";
import { Spool } from "./_spool.ts";
import {
  type BatchStore,
  type ObjectFailure,
  type StoreBatch,
  StoreUnavailableError,
} from "./_store.ts";
import { createLogger } from "../log/mod.ts";
import { BatchWriter, type Settlement, type WriteOwner } from "./_writer.ts";

const dec = new TextDecoder();

/** A store whose reachability the test switches; it records every batch it applies. */
class FakeStore implements BatchStore {
  readonly label = "fake://store";
  up = true;
  /** Connected, but refuses every write as Redis does while READONLY or OOM. */
  refusing = false;
  /** Writes attempted. */
  attempts = 0;
  /** Applies the next write, then reports the connection lost (an uncertain outcome). */
  loseAfterApply = false;
  readonly applied_: StoreBatch[] = [];
  readonly markers = new Set<string>();

  get connected(): boolean {
    return this.up;
  }
  connect(): Promise<void> {
    return this.up ? Promise.resolve() : Promise.reject(new StoreUnavailableError("down"));
  }
  write(batch: StoreBatch): Promise<ObjectFailure[]> {
    this.attempts++;
    if (!this.up) return Promise.reject(new StoreUnavailableError("down"));
    if (this.refusing) return Promise.reject(new StoreUnavailableError("refuses writes: READONLY"));
    this.applied_.push(batch);
    if (batch.marker !== undefined) this.markers.add(batch.marker);
    if (this.loseAfterApply) {
      this.loseAfterApply = false;
      return Promise.reject(new StoreUnavailableError("connection lost"));
    }
    return Promise.resolve([]);
  }
  applied(marker: string): Promise<boolean> {
    return Promise.resolve(this.markers.has(marker));
  }
  /** The keys of every SET applied, in order. */
  keys(): string[] {
    const text = this.applied_.map((b) => dec.decode(b.wire)).join("");
    return [...text.matchAll(/\$3\r\nSET\r\n\$\d+\r\n([^\r]*)\r\n/g)].map((m) => m[1]!);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

class Owner implements WriteOwner {
  stored = 0;
  spooled = 0;
  settled({ stored, spooled }: Settlement): void {
    this.stored += stored;
    if (spooled) this.spooled += stored;
  }
}

function add(w: BatchWriter, owner: WriteOwner, key: string): void {
  w.add(owner, (out) => {
    out.command(["SET", key, "v"]);
    return 1;
  });
}

Deno.test("BatchWriter spools batches while the store is down and replays them in order before writing live", async () => {
  await using dir = await tempDir();
  await using spool = await Spool.open(dir.path, { sync: false });
  const store = new FakeStore();
  store.up = false;
  await using w = new BatchWriter({ store, spool, maxBatch: 2, retryMs: 10 });
  const owner = new Owner();
  for (let i = 0; i < 5; i++) add(w, owner, `k${i}`);
  await w.idle();
  assert.equal(w.live, false);
  assert.equal(owner.spooled, 5);
  assert.ok(spool.records > 0);
  assert.deepEqual(store.keys(), []);
  store.up = true;
  add(w, owner, "k5");
  await waitUntil(() => w.live && w.queued === 0, { what: "the writer to be live again" });
  add(w, owner, "k6");
  await w.idle();
  assert.deepEqual(store.keys(), ["k0", "k1", "k2", "k3", "k4", "k5", "k6"]);
  assert.ok(spool.empty);
  assert.equal(owner.stored, 7);
});

Deno.test("BatchWriter without a spool does not write twice a lost batch whose marker shows it was applied", async () => {
  const store = new FakeStore();
  store.loseAfterApply = true;
  await using w = new BatchWriter({ store, markerPrefix: "m:", retryMs: 10 });
  const owner = new Owner();
  add(w, owner, "a");
  await w.idle();
  assert.deepEqual(store.keys(), ["a"]);
  await waitUntil(() => w.live, { what: "the writer to be live again" });
  add(w, owner, "b");
  await w.idle();
  assert.deepEqual(store.keys(), ["a", "b"]);
  assert.equal(owner.stored, 2);
  assert.equal(owner.spooled, 0);
});

Deno.test("BatchWriter.close() while the store is down puts everything in the spool", async () => {
  await using dir = await tempDir();
  await using spool = await Spool.open(dir.path, { sync: false });
  const store = new FakeStore();
  store.up = false;
  const w = new BatchWriter({ store, spool, maxBatch: 4, retryMs: 10_000 });
  const owner = new Owner();
  for (let i = 0; i < 10; i++) add(w, owner, `k${i}`);
  await w.close();
  assert.equal(w.queued, 0);
  assert.equal(owner.spooled, 10);
  assert.equal(spool.records, 3);
  assert.throws(() => add(w, owner, "late"), /Cannot add to a closed writer/);
});

Deno.test("BatchWriter without a spool probes a connected store that refuses writes with one batch, logs the outage once, and writes all in order after", async () => {
  const store = new FakeStore();
  store.refusing = true;
  const logs: string[] = [];
  const logger = createLogger({ sink: (l) => logs.push(l) });
  await using w = new BatchWriter({ store, logger, maxBatch: 2, maxInflight: 1, retryMs: 10 });
  const owner = new Owner();
  for (let i = 0; i < 6; i++) add(w, owner, `k${i}`);
  await waitUntil(() => store.attempts >= 6, { what: "several probes" });
  assert.equal(w.live, false);
  assert.equal(logs.filter((l) => /Redis unavailable/.test(l)).length, 1, logs.join("\n"));
  store.refusing = false;
  await w.idle();
  await waitUntil(() => w.live, { what: "the writer to be live again" });
  assert.deepEqual(store.keys(), ["k0", "k1", "k2", "k3", "k4", "k5"]);
  assert.equal(owner.stored, 6);
  assert.equal(logs.filter((l) => /Redis unavailable/.test(l)).length, 1, logs.join("\n"));
});
