/**
 * clientcli against a server set up as the replaced tool's users set it up:
 * a README-made certificate (CN=localhost, no subjectAltName) reached by
 * address, clientcli run from another directory, a server that closes.
 */
import assert from "node:assert/strict";
import * as tls from "node:tls";
import { join } from "node:path";
import { startChatServer } from "../core/chat/mod.ts";
import { loadServerTls } from "../core/pki/mod.ts";
import { runCli, startDaemon, tempDir } from "./harness/mod.ts";
import { openssl, readmeCert } from "./_openssl.ts";

/** A TLS line server like the replaced one that answers `replies` lines reversed, then closes. */
async function closingServer(
  cert: { cert: string; key: string },
  replies: number,
): Promise<{ port: number } & AsyncDisposable> {
  const server = tls.createServer({
    cert: await Deno.readTextFile(cert.cert),
    key: await Deno.readTextFile(cert.key),
  }, (socket) => {
    let buf = "";
    let answered = 0;
    socket.on("error", () => {});
    socket.on("data", (d: Uint8Array) => {
      buf += new TextDecoder().decode(d);
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0 && answered < replies) {
        socket.write([...buf.slice(0, nl)].reverse().join("") + "\n");
        buf = buf.slice(nl + 1);
        if (++answered === replies) socket.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

Deno.test("clientcli --servername verifies a README certificate reached by address, and says so when it is missing", async () => {
  await using tmp = await tempDir("sockkit-clientcli-");
  const dir = tmp.path;
  const cert = await readmeCert(dir, "server");
  await using server = await closingServer(cert, 1);
  const base = ["clientcli", "--host", "127.0.0.1", "--port", String(server.port)];
  const ok = await runCli([...base, "--ca", cert.cert, "--servername", "localhost"], {
    stdin: "abc\n",
  });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^reply cba$/m);
  const noName = await runCli([...base, "--ca", cert.cert], { stdin: "abc\n" });
  assert.equal(noName.code, 1);
  assert.match(noName.stderr, /does not match.*pass --servername NAME/);
  const wrong = await runCli([...base, "--ca", cert.cert, "--servername", "other.example"], {
    stdin: "abc\n",
  });
  assert.equal(wrong.code, 1);
});

Deno.test("clientcli run from another directory without --ca says to pass --ca", async () => {
  await using tmp = await tempDir("sockkit-clientcli-");
  const dir = tmp.path;
  const cert = await readmeCert(dir, "server");
  await using server = await closingServer(cert, 1);
  const r = await runCli(["clientcli", "--host", "localhost", "--port", String(server.port)], {
    stdin: "abc\n",
    cwd: dir,
  });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /self-signed certificate.*pass --ca with the server's CA certificate/);
});

Deno.test("clientcli says how many replies came before the server closed, without a client-certificate hint", async () => {
  await using tmp = await tempDir("sockkit-clientcli-");
  const dir = tmp.path;
  const cert = await readmeCert(dir, "server");
  await using server = await closingServer(cert, 1);
  const r = await runCli([
    "clientcli",
    "--host",
    "localhost",
    "--port",
    String(server.port),
    "--ca",
    cert.cert,
  ], { stdin: "abc\n" + "x".repeat(10) + "\n" });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^reply cba$/m);
  assert.match(
    r.stderr,
    /lost: the server closed the connection after 1 reply; 1 reply never arrived$/m,
  );
  assert.doesNotMatch(r.stderr, /client certificate/);
});

Deno.test("clientcli gives the client-certificate hint when a mutual-TLS servercli refuses its handshake", async () => {
  await using tmp = await tempDir("sockkit-clientcli-");
  const dir = tmp.path;
  const server = await readmeCert(dir, "server");
  const client = await readmeCert(dir, "client");
  await using chat = await startChatServer({
    host: "127.0.0.1",
    port: 0,
    tls: await loadServerTls({ ...server, clientCerts: client.cert }),
    requireClientCert: true,
  });
  const base = ["clientcli", "--host", "localhost", "--port", String(chat.port)];
  const refused = await runCli([...base, "--ca", server.cert], { stdin: "abc\n" });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /refused the handshake.*requires a client certificate/);
  const ok = await runCli([
    ...base,
    "--ca",
    server.cert,
    "--cert",
    client.cert,
    "--key",
    client.key,
  ], {
    stdin: "abc\n",
  });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^reply cba$/m);
});

Deno.test("clientcli run in the replaced client's directory trusts its certs/my.crt without --ca", async () => {
  await using tmp = await tempDir("sockkit-clientcli-");
  const dir = tmp.path;
  await Deno.mkdir(join(dir, "certs"));
  // The replaced client trusts certs/my.crt, the replaced server's certificate.
  const cert = await readmeCert(join(dir, "certs"), "my");
  await using server = await closingServer(cert, 1);
  const r = await runCli(["clientcli", "--host", "localhost", "--port", String(server.port)], {
    stdin: "abc\n",
    cwd: dir,
  });
  assert.equal(r.code, 0, r.stderr); // before: exit 1, "self-signed certificate ... pass --ca"
  assert.match(r.stdout, /^reply cba$/m);
});

Deno.test("clientcli in the replaced project's directory talks to servercli serving its CN=example.com certs/my.crt without --ca, names checked only when asked", async () => {
  await using tmp = await tempDir("sockkit-clientcli-");
  const dir = tmp.path;
  await Deno.mkdir(join(dir, "certs"));
  // The replaced project's README command, verbatim: CA:TRUE, CN=example.com, no subjectAltName.
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-keyout",
    "certs/my.key",
    "-out",
    "certs/my.crt",
    "-days",
    "365",
    "-nodes",
    "-subj",
    "/C=AU/ST=Some-State/O=Internet Widgits Pty Ltd/CN=example.com",
  ], dir);
  const other = await readmeCert(dir, "other", "example.com");
  // servercli run there serves certs/my.crt (no --cert/--key, no certs/server.pem).
  await using server = await startDaemon(["servercli", "--period", "2"], { cwd: dir });
  const base = ["clientcli", "--port", String(server.port)]; // --host localhost by default
  const run = (args: string[]) => runCli([...base, ...args], { stdin: "hello\n", cwd: dir });

  const pinned = await run([]);
  assertReplied(pinned); // before: exit 1, "Host: localhost. is not cert's CN: example.com"
  assert.match(
    pinned.stderr,
    /trusting certs\/my\.crt as the replaced client did.*host name is not checked/,
  );
  assert.equal(pinned.stderr.match(/trusting certs/g)?.length, 1);

  // A CA that did not sign it is refused.
  const wrongCa = await run(["--ca", other.cert]);
  assert.equal(wrongCa.code, 1);
  assert.match(wrongCa.stderr, /self-signed certificate.*the --ca file did not sign/);
  assert.doesNotMatch(wrongCa.stdout, /reply/);
  // Without --ca the chain is still verified: a server certificate my.crt did not sign is refused.
  {
    await using impostor = await closingServer(other, 1);
    const r = await runCli(["clientcli", "--port", String(impostor.port)], {
      stdin: "hello\n",
      cwd: dir,
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /self-signed certificate.*"certs\/my\.crt" in this directory was trusted/,
    );
    assert.doesNotMatch(r.stdout, /reply/);
  }

  // Named explicitly, the host name is checked, and the hint names the certificate's CN.
  for (const args of [["--ca", "certs/my.crt"], ["--servername", "localhost"]]) {
    const r = await run(args);
    assert.equal(r.code, 1, args.join(" "));
    assert.match(
      r.stderr,
      /does not match.*certificate is for "example\.com".*--servername example\.com\)/,
    );
    assert.doesNotMatch(r.stderr, /--servername localhost/);
  }
  assertReplied(await run(["--ca", "certs/my.crt", "--servername", "example.com"]));
});

/** clientcli exited 0 after the reply to "hello". */
function assertReplied(r: { code: number; stdout: string; stderr: string }): void {
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^reply olleh$/m);
}
