/**
 * The replaced query tool's own client: over TCP it sends the header, the
 * query and `\n`, reads until the server closes and keeps every byte, and it
 * may send encryption byte `0` for plain. Over UDP it sends the same bytes,
 * `\n` included, as one datagram.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { QUERY_FIXTURES, queryServeArgs, spawnCli, tempDir } from "./harness/mod.ts";

/** Runs the Python client `script` with the server's port and the message; returns what it printed. */
async function runClient(script: string, port: number, message: string): Promise<string> {
  const out = await new Deno.Command("python3", {
    args: ["-c", script, String(port), message],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

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
  return await runClient(script, port, message);
}

Deno.test("query over TCP sends the header and the payload then closes, with no trailing newline; encryption byte 0 is plain and echoed", async (t) => {
  await using srv = spawnCli(queryServeArgs({ only: "tcp" }));
  const port = Number((await srv.waitForLine(/listening .*tcp=(\d+)/, 30_000))[1]);
  const row = '{"id":"1","name":"Ada Lovelace","city":"London","born":1815}';
  await t.step("plain text reply is exactly header + payload", async () => {
    assert.equal(await seedTcpClient(port, "0pt0people 1"), `0pt0${row}`);
  });
  await t.step(
    "encryption byte 0 is plain, and the reply echoes it as the replaced server did",
    async () => {
      assert.equal(await seedTcpClient(port, "00t0people 1"), `00t0${row}`);
    },
  );
  await t.step("an error reply has no trailing newline either", async () => {
    assert.equal(
      await seedTcpClient(port, "0Ht0x"),
      '0pt0ERROR: Unsupported encryption scheme "H": send "p" (plain) or "E" (X25519 + AES-256-GCM)',
    );
  });
});

/** The replaced client's UDP exchange: header, query and "\n" in one datagram, one recv. */
async function seedUdpClient(port: number, message: string): Promise<string> {
  const script = `
import socket, sys
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    s.settimeout(10)
    s.sendto(sys.argv[2].encode() + b"\\n", ("127.0.0.1", int(sys.argv[1])))
    sys.stdout.buffer.write(s.recv(1024))
`;
  return await runClient(script, port, message);
}

Deno.test("query over UDP hands the handler the query without the newline the replaced client sends", async () => {
  await using dir = await tempDir("sockkit-query-udp-");
  await Deno.writeTextFile(
    join(String(dir), "echo.js"),
    // Text queries come back quoted, so a stray "\n" shows; JSON ones as they are.
    'export default (q) => typeof q === "string" ? JSON.stringify(q) : q;\n',
  );
  await Deno.writeTextFile(
    join(String(dir), "spec.json"),
    JSON.stringify({ files: [{ path: join(QUERY_FIXTURES, "people.csv"), key: "id" }] }),
  );
  await using srv = spawnCli(queryServeArgs({
    data: join(String(dir), "spec.json"),
    handler: join(String(dir), "echo.js"),
    only: "udp",
  }));
  const port = Number((await srv.waitForLine(/listening .*udp=(\d+)/, 30_000))[1]);
  assert.equal(await seedUdpClient(port, "0pt0spinach"), '0pt0"spinach"');
  assert.equal(await seedUdpClient(port, '0pj0{"file":"people"}'), '0pj0{"file":"people"}');
});
