import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir } from "../../tests/harness/mod.ts";
import { PKI_LOCK, withPkiLock } from "./_files.ts";

/** A python3 process that holds `path`'s `flock` until killed; resolves once it holds it. */
async function holder(path: string) {
  const child = new Deno.Command("python3", {
    args: [
      "-c",
      "import fcntl,sys,time\nf=open(sys.argv[1],'w')\nfcntl.flock(f,fcntl.LOCK_EX)\nprint('held',flush=True)\ntime.sleep(60)",
      path,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  assert.equal(new TextDecoder().decode(value).trim(), "held");
  reader.releaseLock();
  return {
    pid: child.pid,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.stdout.cancel().catch(() => {});
      await child.status;
    },
  };
}

Deno.test("a pki write waits for the directory's lock at most its wait, then names the process that holds it", async () => {
  await using dir = await tempDir("sockkit-pki-lock-");
  await using other = await holder(join(String(dir), PKI_LOCK));
  let ran = false;
  const t = performance.now();
  await assert.rejects(
    withPkiLock(String(dir), () => ran = true, 300),
    (err: Error) => {
      assert.match(err.message, /^Cannot lock the certificates directory ".*": process \d+/);
      assert.ok(err.message.includes(`process ${other.pid} (`), err.message);
      assert.match(
        err.message,
        /\(\S*python3 -c import fcntl,sys,time f=open/,
        "its command line, on one line",
      );
      assert.match(err.message, /has held ".*\.pki\.lock" for more than 0\.3 s/);
      assert.match(err.message, /let it finish or stop it/);
      return true;
    },
  );
  assert.ok(performance.now() - t >= 300, "it gave up before its wait");
  assert.equal(ran, false);
});

Deno.test("a pki write that waited for the lock runs once the holder lets it go", async () => {
  await using dir = await tempDir("sockkit-pki-lock-");
  const other = await holder(join(String(dir), PKI_LOCK));
  const written = withPkiLock(String(dir), () => "done", 10_000);
  await new Promise((r) => setTimeout(r, 100));
  await other[Symbol.asyncDispose](); // the kernel drops the lock with the process
  assert.equal(await written, "done");
});
