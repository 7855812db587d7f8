/**
 * deploy/install.sh into a temporary root, then what its ingest unit would run
 * (ExecStart with the unit's environment, in its working directory) as the
 * unprivileged service user: it must start, store an object in Redis and
 * drain on SIGTERM. systemd itself is not needed. Needs root (useradd).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort, REPO_ROOT, runCli, startRedis, waitUntil } from "./harness/mod.ts";

const IS_ROOT = Deno.uid() === 0;

async function run(cmd: string, args: string[], opts: { cwd?: string } = {}) {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/**
 * Runs `deploy/install.sh` into a new temporary root with a new service
 * user (`USERPREFIX` and a random number); disposing removes both.
 */
async function installInto(userPrefix: string, dirPrefix: string) {
  const user = `${userPrefix}${Math.floor(Math.random() * 1e6)}`;
  const root = await Deno.makeTempDir({ prefix: dirPrefix });
  await Deno.chmod(root, 0o755); // the service user must reach the paths below it
  const dispose = async () => {
    await run("userdel", ["--force", user]);
    await run("groupdel", [user]); // when userdel left it
    await Deno.remove(root, { recursive: true });
  };
  const install = await run(join(REPO_ROOT, "deploy/install.sh"), [
    "--root",
    root,
    "--user",
    user,
    "--hosts",
    "localhost,127.0.0.1",
  ]);
  if (install.code !== 0) {
    await dispose();
    assert.fail(`install.sh failed (exit ${install.code}): ${install.stderr}`);
  }
  return { user, root, [Symbol.asyncDispose]: dispose };
}

/** The `[Service]` settings of a unit file (repeated keys collected in order). */
function unitSettings(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!m) continue;
    out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

Deno.test({
  name: "install.sh into a temporary root gives an ingest unit that runs as the service user",
  ignore: !IS_ROOT,
  async fn() {
    await using installed = await installInto("skt", "sockkit-install-");
    const { user, root } = installed;

    // Ownership: the service user reads the server key, never the CA key.
    const certs = join(root, "etc/sockkit/certs");
    const serverKey = await Deno.stat(join(certs, "server.key"));
    assert.equal(serverKey.mode! & 0o777, 0o640);
    const gid = Number((await run("id", ["-g", user])).stdout.trim());
    assert.equal(serverKey.gid, gid, "server.key belongs to the service's group");
    assert.equal((await Deno.stat(join(certs, "ca.key"))).mode! & 0o077, 0, "ca.key stays private");
    assert.notEqual(
      (await run("runuser", ["-u", user, "--", "cat", join(certs, "ca.key")])).code,
      0,
      "the service user cannot read the CA key",
    );

    // The unit: every placeholder filled, no man page that does not exist.
    const unitText = await Deno.readTextFile(
      join(root, "etc/systemd/system/sockkit-ingest.service"),
    );
    assert.doesNotMatch(unitText, /@[A-Z]+@/);
    assert.doesNotMatch(unitText, /man:sockkit/);
    for (const name of ["broker", "query", "search", "servercli"]) {
      const t = await Deno.readTextFile(join(root, `etc/systemd/system/sockkit-${name}.service`));
      assert.doesNotMatch(t, /@[A-Z]+@/, `sockkit-${name}.service has a placeholder left`);
    }
    const unit = unitSettings(unitText);
    assert.deepEqual(unit.get("User"), [user]);
    const workDir = unit.get("WorkingDirectory")![0]!;
    const exec = unit.get("ExecStart")![0]!.split(/\s+/);
    assert.ok(unit.get("ReadWritePaths")![0]!.split(" ").includes(workDir));
    const env: Record<string, string> = {
      PATH: "/usr/local/bin:/usr/bin:/bin",
      HOME: workDir,
      NO_COLOR: "1",
    };
    for (const e of unit.get("Environment") ?? []) {
      const [k, ...v] = e.split("=");
      env[k!] = v.join("=");
    }
    // The operator's overrides go in the unit's EnvironmentFile.
    await using redis = await startRedis();
    const port = freePort();
    const envFile = unit.get("EnvironmentFile")![0]!.replace(/^-/, "");
    await Deno.writeTextFile(
      envFile,
      `SOCKKIT_REDIS_URL=redis://127.0.0.1:${redis.port}\nSOCKKIT_INGEST_PORT=${port}\n` +
        `SOCKKIT_INGEST_METRICS_PORT=${freePort()}\n`,
    );
    for (const line of (await Deno.readTextFile(envFile)).split("\n")) {
      const [k, ...v] = line.split("=");
      if (k) env[k] = v.join("=");
    }

    // setpriv execs the command itself (no session wrapper), so SIGTERM reaches sockkit.
    const child = new Deno.Command("setpriv", {
      args: [
        `--reuid=${user}`,
        `--regid=${user}`,
        "--init-groups",
        "env",
        "-i",
        ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
        ...exec,
      ],
      cwd: workDir,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let stderr = "";
    const reading = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
    })();
    const stdoutDone = child.stdout.cancel();
    let exited = false;
    const status = child.status.then((s) => {
      exited = true;
      return s;
    });
    try {
      await waitUntil(() => exited || stderr.includes('"listening on'), { timeoutMs: 60_000 });
      assert.ok(!exited, `the unit's command exited at start:\n${stderr}`);
      assert.doesNotMatch(stderr, /Permission denied|Failed caching/);

      const issue = await runCli(["certs", "issue", "alice", "--dir", certs]);
      assert.equal(issue.code, 0, issue.stderr);
      const sent = await runCli([
        "ingest",
        "send",
        "--client",
        "alice",
        "--certs",
        certs,
        "--port",
        String(port),
      ], { stdin: '{"installed":"yes"}' });
      assert.equal(sent.code, 0, sent.stdout + sent.stderr);
      await using client = await redis.client();
      await waitUntil(async () => (await client.get("installed")) === "yes", {
        what: "the object in Redis",
      });
    } finally {
      try {
        child.kill("SIGTERM");
      } catch { /* exited */ }
    }
    const s = await status;
    await reading;
    await stdoutDone.catch(() => {});
    assert.equal(s.code, 0, `SIGTERM did not drain to exit 0:\n${stderr}`);
    const spool = (await Deno.stat(join(workDir, "ingest-spool"))).uid;
    assert.equal(spool, Number((await run("id", ["-u", user])).stdout.trim()));
  },
});

/** Runs a command as `user` (its groups too), with the environment `env` only. */
function asUser(user: string, env: Record<string, string>, args: string[], cwd: string) {
  return new Deno.Command("setpriv", {
    args: [
      `--reuid=${user}`,
      `--regid=${user}`,
      "--init-groups",
      "env",
      "-i",
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      ...args,
    ],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

Deno.test({
  name:
    'install.sh layout: the broker user\'s "broker revoke" and root\'s "certs revoke" both update revoked.json, in turn (needs root: skipped otherwise)',
  ignore: !IS_ROOT,
  async fn() {
    await using installed = await installInto("skr", "sockkit-install-revoke-");
    const { user, root } = installed;
    const certs = join(root, "etc/sockkit/certs");
    for (const name of ["alice", "bob", "carol"]) {
      const r = await runCli(["certs", "issue", name, "--dir", certs]);
      assert.equal(r.code, 0, r.stderr);
    }

    // The broker as its unit runs it (user, environment, working directory), on a free port.
    const unit = unitSettings(
      await Deno.readTextFile(join(root, "etc/systemd/system/sockkit-broker.service")),
    );
    const writable = unit.get("ReadWritePaths")!.flatMap((l) => l.split(" "));
    const list = await Deno.realPath(join(certs, "revoked.json"));
    assert.ok(
      writable.some((w) => list.startsWith(w + "/")),
      `the unit lets the broker write "${list}" (ReadWritePaths ${writable.join(" ")})`,
    );
    const workDir = unit.get("WorkingDirectory")![0]!;
    const env: Record<string, string> = { PATH: "/usr/bin:/bin", HOME: workDir, NO_COLOR: "1" };
    for (const e of unit.get("Environment") ?? []) {
      const [k, ...v] = e.split("=");
      env[k!] = v.join("=");
    }
    const exec = unit.get("ExecStart")![0]!.split(/\s+/);
    exec[exec.indexOf("--port") + 1] = String(freePort());
    exec.splice(exec.indexOf("serve") + 1, 0, "--host", "127.0.0.1");
    const child = asUser(user, env, exec, workDir).spawn();
    let stderr = "";
    const reading = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
    })();
    const stdoutDone = child.stdout.cancel();
    let exited = false;
    const status = child.status.then((s) => {
      exited = true;
      return s;
    });
    const revokedNames = async () =>
      (JSON.parse(await Deno.readTextFile(join(certs, "revoked.json"))) as Array<{ name: string }>)
        .map((e) => e.name).sort();
    const brokerRevoke = async (name: string) => {
      const out = await asUser(
        user,
        env,
        [join(root, "usr/local/bin/sockkit"), "broker", "revoke", name, "--dir", workDir],
        workDir,
      ).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, `broker revoke ${name} as ${user}: ${text}\nbroker:\n${stderr}`);
      assert.match(text, new RegExp(`revoked ${name}`));
    };
    const gid = Number((await run("id", ["-g", user])).stdout.trim());
    const keepsGroupWrite = async (after: string) => {
      const st = await Deno.stat(list);
      assert.equal(st.mode! & 0o777, 0o664, `revoked.json is 0664 after ${after}`);
      assert.equal(st.gid, gid, `revoked.json keeps the service's group after ${after}`);
    };
    try {
      await waitUntil(() => exited || /listening /.test(stderr), { timeoutMs: 60_000 });
      assert.ok(!exited, `the broker unit's command exited at start:\n${stderr}`);

      await brokerRevoke("alice");
      assert.deepEqual(await revokedNames(), ["alice"]);
      await keepsGroupWrite("the broker's revoke");

      const r = await runCli(["certs", "revoke", "bob", "--dir", certs]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await revokedNames(), ["alice", "bob"]);
      await keepsGroupWrite(`root's "certs revoke"`);
      assert.ok((await Deno.lstat(join(certs, "revoked.json"))).isSymlink, "the link stays");

      await brokerRevoke("carol");
      assert.deepEqual(await revokedNames(), ["alice", "bob", "carol"]);
      await keepsGroupWrite("the broker's second revoke");
      const listed = await runCli(["certs", "list", "--json", "--dir", certs]);
      assert.equal(listed.code, 0, listed.stderr);
      for (const name of ["alice", "bob", "carol"]) {
        assert.match(listed.stdout, new RegExp(`"name":\\s*"${name}"[^}]*"revoked"`));
      }
    } finally {
      try {
        child.kill("SIGTERM");
      } catch { /* exited */ }
    }
    await status;
    await reading;
    await stdoutDone.catch(() => {});
  },
});

Deno.test("install.sh refuses to run without root and says how", async () => {
  const script = join(REPO_ROOT, "deploy/install.sh");
  // as root, the refusal is shown as the unprivileged user 65534 (nobody)
  const r = IS_ROOT
    ? await run("setpriv", [
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      script,
      "--root",
      "/nonexistent",
    ])
    : await run(script, ["--root", "/nonexistent"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /run as root/);
});
