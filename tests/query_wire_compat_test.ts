/**
 * The replaced query tool's own client: over TCP it sends the header, the
 * query and `\n`, reads until the server closes and keeps every byte, and it
 * may send encryption byte `0` for plain.
 */
import assert from "node:assert/strict";
import { spawnCli } from "./harness/mod.ts";

const FIXTURES = new URL("../fixtures/query", import.meta.url).pathname;

/** The replaced client's TCP exchange: send, read to the close, keep every byte. */
async function seedTcpClient(port: number, message: string): Promise<string> {
  const script = `
import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as s:
    s.sendall(sys.argv[2].encode() + b"\\n")
    chunks = []
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
sys.stdout.buffer.write(b"".join(chunks))
`;
  const out = await new Deno.Command("python3", {
    args: ["-c", script, String(port), message],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test("query over TCP sends the header and the payload then closes, with no trailing newline; encryption byte 0 is plain", async (t) => {
  await using srv = spawnCli([
    "query",
    "serve",
    "--data",
    "spec.json",
    "--handler",
    "handler.ts",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--tcp-only",
  ], { cwd: FIXTURES });
  const port = Number((await srv.waitForLine(/listening .*tcp=(\d+)/, 30_000))[1]);
  const row = '{"id":"1","name":"Ada Lovelace","city":"London","born":1815}';
  await t.step("plain text reply is exactly header + payload", async () => {
    assert.equal(await seedTcpClient(port, "0pt0people 1"), `0pt0${row}`);
  });
  await t.step("encryption byte 0 is answered as plain", async () => {
    assert.equal(await seedTcpClient(port, "00t0people 1"), `0pt0${row}`);
  });
  await t.step("an error reply has no trailing newline either", async () => {
    assert.equal(
      await seedTcpClient(port, "0Ht0x"),
      '0pt0ERROR: Unsupported encryption scheme "H": send "p" (plain) or "E" (X25519 + AES-256-GCM)',
    );
  });
});
