import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "./harness/mod.ts";
import { brokerSite } from "./broker_helpers.ts";

const CHECK = join(REPO_ROOT, "tests", "_python", "broker_client_check.py");
const UNLISTEN_CHECK = join(REPO_ROOT, "tests", "_python", "broker_unlisten_check.py");

async function hasPython(): Promise<boolean> {
  try {
    const r = await new Deno.Command("python3", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return r.success;
  } catch {
    return false;
  }
}

const python = await hasPython();
if (!python) console.error("skipping the Python broker client test: python3 is not on PATH");

/**
 * Runs the check script `script` with `args`; asserts that it exits 0, printed
 * "ok STEP" for each of `steps` (regular expressions) and then "done", and
 * returns its standard error.
 */
async function runCheck(script: string, args: string[], steps: string[]): Promise<string> {
  const out = await new Deno.Command("python3", {
    args: [script, ...args],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `python check ${script} failed:\n${stdout}\n${stderr}`);
  for (const step of steps) assert.match(stdout, new RegExp(`^ok ${step}$`, "m"), step);
  assert.match(stdout, /^done$/m);
  return stderr;
}

Deno.test({
  name:
    "broker: the Python ConnectorAPI sends, acks, requests, listens, sends files, publishes and subscribes (with tags) through real connectors",
  ignore: !python,
  async fn() {
    await using site = await brokerSite("sockkit-pyclient-");
    const { root: tmp, sdir, cdir } = site;
    const files = join(tmp, "received");
    const work = join(tmp, "work");
    await Deno.mkdir(work);
    await using link = await site.link(["--file-dir", `files=${files}`]);

    await runCheck(CHECK, [sdir, cdir, files, work], [
      "send returns True",
      "transport_json names the source",
      "text data and binary part arrive intact",
      "wait_for_ack returns True",
      "await_response returns the answer triplet",
      "an unanswered request raises",
      "with_file stores the file at the receiver under dst_name",
      "with_file delete removes the source once stored",
      "a failed send returns False with last_error",
      "a listener that stops mid-backlog leaves the unhandled messages queued",
      "publish_message with wait_for_ack returns True",
      "a subscriber gets the published message with its tag",
      "send_message passes tag through",
      "subscribe on the server raises",
      "show_connected_peers lists alice",
    ]);
    assert.deepEqual(await link.stop(), { client: 0, server: 0 });
  },
});

Deno.test({
  name:
    "broker: the Python ConnectorAPI's stop_waiting_for_messages stops callbacks, after the loop stopped (as the aioconnectors example calls it) or in it, and leaves the messages queued",
  ignore: !python,
  async fn() {
    await using site = await brokerSite("sockkit-pyunlisten-");
    await using link = await site.link();
    const stderr = await runCheck(UNLISTEN_CHECK, [site.sdir, site.cdir], [
      "stop_waiting_for_messages after the loop stopped raises nothing",
      "the callback got both messages before",
      "first deliveries carry no redelivered",
      "a stopped type reaches no callback",
      "a message of a stopped type stays queued",
      "the next listener gets it",
      "one never handed out is not redelivered",
      "the stopped waiter returns",
      "no callback runs after the stop",
      "a later message of the type reaches no callback",
      "what no callback finished went back to the queue, with the later one",
      "the next listener gets them all, in order",
      "those handed out before are redelivered, the later one is not",
      "stop_waiting_for_messages\\(\\) stops every type",
      "the next listener gets the late one",
    ]);
    assert.doesNotMatch(stderr, /Traceback|Task was destroyed/);
    assert.deepEqual(await link.stop(), { client: 0, server: 0 });
  },
});
