import assert from "node:assert/strict";
import { join } from "node:path";
import { DIR_LOCK_FILE, DirectoryInUseError, lockDirectorySync } from "./dir_lock.ts";
import { redactUrlCredentials } from "./flock_holder.ts";

Deno.test("lockDirectorySync lets one holder in at a time, says when this process holds it already, and is free again once released", async () => {
  const dir = join(await Deno.makeTempDir(), "state");
  try {
    const first = lockDirectorySync(dir, "test directory");
    assert.equal(Deno.readTextFileSync(join(dir, DIR_LOCK_FILE)).trim(), String(Deno.pid));
    assert.throws(
      () => lockDirectorySync(dir, "test directory"),
      (err) => {
        assert.ok(err instanceof DirectoryInUseError);
        assert.equal(err.pid, Deno.pid);
        assert.equal(
          err.message,
          `Cannot use the test directory "${dir}": this process (pid ${Deno.pid}) is using it already (stop that one, or give this one a directory of its own)`,
        );
        return true;
      },
    );
    first.release();
    first.release(); // idempotent
    using again = lockDirectorySync(dir, "test directory");
    assert.ok(again);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lockDirectorySync refuses a directory another process holds and names it by its pid and command line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const holder = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        // a secret in the holder's command line, as a Redis URL with a password would be
        `// redis://bob:hunter2@db.example:6379
         const f = Deno.openSync(${
          JSON.stringify(join(dir, DIR_LOCK_FILE))
        }, { read: true, write: true, create: true });
         f.lockSync(true); f.writeSync(new TextEncoder().encode(Deno.pid + "\\n")); console.log("held");
         await new Promise((r) => setTimeout(r, 30000));`,
      ],
      stdout: "piped",
    }).spawn();
    const reader = holder.stdout.getReader();
    assert.match(new TextDecoder().decode((await reader.read()).value), /held/);
    assert.throws(
      () => lockDirectorySync(dir, "spool"),
      (err) => {
        assert.ok(err instanceof DirectoryInUseError);
        // named by the kernel's record of the lock: its pid and command line
        assert.equal(err.pid, holder.pid);
        assert.match(
          err.message,
          new RegExp(`another process \\(pid ${holder.pid}: \\S*deno eval `),
        );
        assert.match(err.message, /redis:\/\/\*\*\*@db\.example:6379/);
        assert.doesNotMatch(err.message, /hunter2/);
        return true;
      },
    );
    holder.kill("SIGKILL");
    await holder.status;
    reader.releaseLock();
    await holder.stdout.cancel().catch(() => {});
    // the kernel dropped the lock with the process
    lockDirectorySync(dir, "spool").release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("redactUrlCredentials stars out the user and password of every URL and leaves the rest", () => {
  assert.equal(
    redactUrlCredentials(
      "ingest --redis redis://:s3cret@h:6379/0 --nats nats://u:p@n:4222 --dir x@y",
    ),
    "ingest --redis redis://***@h:6379/0 --nats nats://***@n:4222 --dir x@y",
  );
  assert.equal(redactUrlCredentials("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
});
