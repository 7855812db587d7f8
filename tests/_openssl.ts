/**
 * Certificates made the way the replaced tools' READMEs say, and a Python
 * `ssl` client: the real things their users already have.
 */
import { dirname, join } from "node:path";
import { type CliResult, type Daemon, runCli, startDaemon } from "./harness/mod.ts";

const dec = new TextDecoder();

/** Runs openssl (tests only: it makes certificates the way users make them). */
export async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`openssl ${args.join(" ")} failed: ${dec.decode(out.stderr)}`);
}

/**
 * `openssl req -new -newkey rsa:2048 -days 365 -nodes -x509 -keyout NAME.key
 * -out NAME.crt -subj /CN=CN`, exactly as the ingest daemon's README says
 * (self-signed, basicConstraints CA:TRUE, no subjectAltName).
 */
export async function readmeCert(
  dir: string,
  name: string,
  cn = "localhost",
): Promise<{ cert: string; key: string }> {
  await openssl([
    "req",
    "-new",
    "-newkey",
    "rsa:2048",
    "-days",
    "365",
    "-nodes",
    "-x509",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.crt`,
    "-subj",
    `/CN=${cn}`,
  ], dir);
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

/**
 * `openssl req -x509 -newkey KEYTYPE -keyout KEY -out CERT -days 365 -nodes
 * -subj /CN=localhost` in `dir`, the self-signed certificate the search and
 * servercli tools' READMEs make (`KEYTYPE` such as `rsa:4096`).
 */
export async function opensslSelfSigned(
  dir: string,
  files: { cert: string; key: string; keyType: string },
): Promise<void> {
  await openssl([
    "req",
    "-x509",
    "-newkey",
    files.keyType,
    "-keyout",
    files.key,
    "-out",
    files.cert,
    "-days",
    "365",
    "-nodes",
    "-subj",
    "/CN=localhost",
  ], dir);
}

/** A key and a certificate signing request (see {@linkcode opensslCsr}). */
export interface Csr {
  key: string;
  csr: string;
}

/**
 * `openssl req -new -newkey rsa:2048 -nodes -subj /CN=CN`: a fresh key at
 * DIR/NAME.key and its signing request at DIR/NAME.csr.
 */
export async function opensslCsr(dir: string, name: string, cn: string): Promise<Csr> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  await openssl(
    [
      "req",
      "-new",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      csr,
      "-subj",
      `/CN=${cn}`,
    ],
    dir,
  );
  return { key, csr };
}

/**
 * `openssl x509 -req -in CSR -CA -CAkey -CAcreateserial -out OUT -days 30`,
 * with `-extfile EXT` when given (without it the certificate is X.509 v1),
 * and `-set_serial SERIAL` instead of `-CAcreateserial` when given.
 * Resolves with `out`.
 */
export async function opensslSign(
  csr: string,
  ca: { cert: string; key: string },
  out: string,
  extfile?: string,
  serial?: number,
): Promise<string> {
  await openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    ...(serial === undefined ? ["-CAcreateserial"] : ["-set_serial", String(serial)]),
    "-out",
    out,
    "-days",
    "30",
    ...(extfile === undefined ? [] : ["-extfile", extfile]),
  ], dirname(out));
  return out;
}

/** Options for {@linkcode pythonTls}. */
export interface PythonTlsOptions {
  /** CA file the client trusts. */
  ca: string;
  /** Name to verify. Default `"localhost"`. */
  servername?: string;
  /** Client certificate and key to present. Default none. */
  cert?: string;
  key?: string;
  /** Bytes to send after the handshake. Default none. */
  send?: string;
  /** Stop reading once this text has arrived. Default: read until the server closes. */
  until?: string;
}

/**
 * Connects to 127.0.0.1:`port` with Python's `ssl` module (stdlib, default
 * context: verifies the chain and the host name), sends `send`, and resolves
 * with what it read, or `"error: ..."` when the handshake failed.
 */
export async function pythonTls(port: number, options: PythonTlsOptions): Promise<string> {
  const script = `
import json, socket, ssl, sys
o = json.loads(sys.argv[1])
ctx = ssl.create_default_context(cafile=o["ca"])
if o.get("cert"):
    ctx.load_cert_chain(o["cert"], o["key"])
try:
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", o["port"]), timeout=10),
                        server_hostname=o.get("servername") or "localhost")
except Exception as e:
    print("error: " + str(e), end="")
    sys.exit(0)
if o.get("send"):
    s.sendall(o["send"].encode())
got = b""
while True:
    try:
        b = s.recv(65536)
    except Exception:
        break
    if not b:
        break
    got += b
    if o.get("until") is not None and o["until"].encode() in got:
        break
sys.stdout.write(got.decode())
`;
  const out = await new Deno.Command("python3", {
    args: ["-c", script, JSON.stringify({ ...options, port })],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`python3 failed: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout);
}

/** A running `ingest serve` with README-made server and client certificates. */
export interface ReadmeIngest extends AsyncDisposable {
  port: number;
  server: { cert: string; key: string };
  client: { cert: string; key: string };
  proc: Daemon;
}

/** Starts `sockkit ingest serve` on a free port with certificates from {@linkcode readmeCert}. */
export async function readmeIngest(dir: string, redisUrl: string): Promise<ReadmeIngest> {
  const server = await readmeCert(dir, "server");
  const client = await readmeCert(dir, "client");
  const proc = await startDaemon([
    "ingest",
    "serve",
    "--cert",
    server.cert,
    "--key",
    server.key,
    "--client-certs",
    client.cert,
    "--redis",
    redisUrl,
    "--spool-dir",
    join(dir, "spool"),
  ]);
  return {
    port: proc.port,
    server,
    client,
    proc,
    [Symbol.asyncDispose]: () => proc[Symbol.asyncDispose](),
  };
}

/** Runs `sockkit ingest send` to `ingest` as "localhost" with its README certificates, `stdin` as input. */
export function readmeIngestSend(ingest: ReadmeIngest, stdin: string): Promise<CliResult> {
  return runCli([
    "ingest",
    "send",
    "--host",
    "localhost",
    "--port",
    String(ingest.port),
    "--ca",
    ingest.server.cert,
    "--cert",
    ingest.client.cert,
    "--key",
    ingest.client.key,
  ], { stdin });
}

/** Runs `sockkit search query LINE --tls` to localhost:`port`, trusting `ca`. */
export function tlsSearchQuery(port: number, ca: string, line: string): Promise<CliResult> {
  return runCli([
    "search",
    "query",
    line,
    "--tls",
    "--host",
    "localhost",
    "--port",
    String(port),
    "--ca",
    ca,
  ]);
}
