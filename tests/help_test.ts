import assert from "node:assert/strict";
import type { Command } from "@commander-js/extra-typings";
import { rootCommand } from "../main.ts";
import { runCli } from "./harness/mod.ts";

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
