import assert from "node:assert/strict";
import type { Command } from "@commander-js/extra-typings";
import { rootCommand } from "../main.ts";
import { runCli, startDaemon } from "./harness/mod.ts";
import { needs } from "./harness/tools.ts";

function* walk(cmd: Command, path: string[] = []): Generator<[string, Command]> {
  yield [["sockkit", ...path].join(" "), cmd];
  for (const sub of cmd.commands as Command[]) yield* walk(sub, [...path, sub.name()]);
}

Deno.test("help texts have no hard line breaks in descriptions and print each default once", () => {
  const problems: string[] = [];
  for (const [name, cmd] of walk(rootCommand() as unknown as Command)) {
    if (cmd.description().includes("\n")) problems.push(`${name}: description has a line break`);
    for (const opt of cmd.options) {
      if (opt.description.includes("\n")) problems.push(`${name} ${opt.flags}: line break`);
      if (opt.defaultValue !== undefined && /\(default/i.test(opt.description)) {
        problems.push(`${name} ${opt.flags}: default printed twice`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("broker subcommands show examples and connect has one server-name option", async () => {
  for (const sub of ["serve", "connect", "send", "listen", "request", "peers", "chat"]) {
    const r = await runCli(["broker", sub, "--help"]);
    assert.equal(r.code, 0);
    assert.match(
      r.stdout,
      /Examples?:\n {2}sockkit broker /,
      `broker ${sub} --help has no example`,
    );
    // --servername (the TLS name, as for clientcli) no longer sits next to a --server-name.
    if (sub === "connect") assert.doesNotMatch(r.stdout, /--server-name/);
  }
});

Deno.test("the examples in ingest serve --help name a client certificate", async () => {
  const r = await runCli(["ingest", "serve", "--help"]);
  for (const line of r.stdout.split("\n").filter((l) => l.includes("ingest send"))) {
    assert.match(line, /--client \S+/, `example without --client: ${line}`);
  }
});

const withNc = needs(["nc"], "apt install netcat-openbsd");

withNc.test({
  name: "the nc example in search serve --help gets its answer and returns",
  async fn() {
    const help = await runCli(["search", "serve", "--help"]);
    const example = help.stdout.split("\n").find((l) => /\| nc /.test(l));
    assert.ok(example, "no nc example");
    const line = example.replace(/#.*$/, "").trim();
    await using srv = await startDaemon(["search", "serve", "--file", "fixtures/search/words.txt"]);
    // The server keeps a connection open for more queries: nc must close its side.
    const out = await new Deno.Command("timeout", {
      args: ["10", "sh", "-c", line.replace("44445", String(srv.port))],
      stdout: "piped",
    }).output();
    assert.equal(out.code, 0, `"${line}" did not return`); // before: hung until killed (124)
    assert.equal(new TextDecoder().decode(out.stdout), "STRING EXISTS\n");
  },
});
