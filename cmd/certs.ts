/**
 * `sockkit certs`: creates and manages the CA, server and client
 * certificates the TLS services use (init, issue, allow, list, revoke).
 */
import { Command, InvalidArgumentError } from "@commander-js/extra-typings";
import { isIP } from "node:net";
import {
  allowCert,
  type CertListing,
  DEFAULT_DAYS,
  DEFAULT_HOSTS,
  initPki,
  issueClient,
  KEY_ALGORITHMS,
  listCerts,
  parseCertificates,
  removePkiLeftovers,
  revoke,
} from "../core/pki/mod.ts";
import { action, intArg } from "./_cli.ts";

const DIR_HELP = 'certificates directory (env SOCKKIT_CERTS, default "certs")';

/** The certificates directory: `--dir`, then `SOCKKIT_CERTS`, then `certs`. */
function certsDir(opts: { dir?: string }): string {
  return opts.dir ?? Deno.env.get("SOCKKIT_CERTS") ?? "certs";
}

/**
 * Before a command writes the certificates directory: removes what an
 * earlier one that crashed mid-write left there, and says so.
 */
async function sweep(dir: string): Promise<void> {
  for (const f of await removePkiLeftovers(dir)) {
    console.log(`Removed "${f}": a temporary file left by a write that a crash cut short`);
  }
}

/** Turns the core's argument errors into usage errors (exit 2). */
async function usage<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) {
      throw new InvalidArgumentError(err.message);
    }
    throw err;
  }
}

function parseHosts(value: string): string[] {
  const hosts = value.split(",").map((h) => h.trim()).filter(Boolean);
  if (hosts.length === 0) throw new InvalidArgumentError("expected comma-separated names or IPs");
  for (const h of hosts) {
    if (
      !isIP(h) &&
      !/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/
        .test(h)
    ) {
      throw new InvalidArgumentError(`"${h}" is neither a DNS name nor an IP address`);
    }
  }
  return hosts;
}

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** `revoked`, `not from this CA` (a client issued before `init --force`), `expired` or `valid`. */
function status(r: CertListing): string {
  if (r.revoked) return "revoked";
  if (r.otherCa) return "not from this CA";
  return r.expired ? "expired" : "valid";
}

/** Formats rows as a left-aligned table with a header. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i]!)).join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}

function initCommand() {
  return new Command("init")
    .summary("create the CA, the server certificate and the allow-list")
    .description(
      "Create a CA, a server certificate signed by it and the client allow-list " +
        "(allowed.pem, holding the CA certificate)",
    )
    .option("--dir <dir>", DIR_HELP)
    .option(
      "--hosts <list>",
      `comma-separated names and IPs for the server certificate (default ${
        DEFAULT_HOSTS.join(",")
      })`,
      parseHosts,
    )
    .option(
      "--days <n>",
      `server certificate validity in days (the CA gets at least 3650)`,
      intArg(1, 36500),
      DEFAULT_DAYS,
    )
    .option("--rsa", "RSA 2048 keys instead of ECDSA P-256")
    .option("--force", "replace existing keys and certificates")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  sockkit certs init\n" +
        "  sockkit certs init --dir /etc/sockkit/certs --hosts ingest.example.com,10.0.0.5\n" +
        "  sockkit certs init --force          # new CA: every issued client must be re-issued",
    )
    .action(action(async (opts) => {
      const dir = certsDir(opts);
      const hosts = opts.hosts ?? [...DEFAULT_HOSTS];
      const algorithm = opts.rsa ? "rsa" : "ecdsa";
      await sweep(dir);
      const p = await usage(initPki(dir, {
        hosts,
        days: opts.days,
        algorithm,
        ...(opts.force ? { force: true } : {}),
      }));
      const [server] = await parseCertificates(
        await Deno.readTextFile(p.serverCert),
        "server certificate",
        p.serverCert,
      );
      console.log(
        `Created a CA and a server certificate in "${dir}" (${
          algorithm === "rsa" ? "RSA 2048" : "ECDSA P-256"
        }):`,
      );
      console.log(
        table(["file", "what"], [
          [p.ca, "CA certificate"],
          [p.caKey, "CA private key (mode 0600: keep it secret, it signs client certificates)"],
          [
            p.serverCert,
            `server certificate for ${hosts.join(", ")}, valid until ${day(server!.notAfter)}`,
          ],
          [p.serverKey, "server private key (mode 0600)"],
          [p.allowList, "client allow-list (the CA certificate)"],
          [p.revoked, "revoked client certificates"],
        ]),
      );
      console.log(`Next: sockkit certs issue NAME --dir ${dir}`);
    }));
}

function issueCommand() {
  return new Command("issue")
    .summary("issue a client certificate CN=NAME signed by the CA")
    .description("Issue a client certificate CN=NAME signed by the CA (clients/NAME.pem, .key)")
    .argument("<name>", "client name (letters, digits, . _ -); it becomes the CN")
    .option("--dir <dir>", DIR_HELP)
    .option("--days <n>", "validity in days", intArg(1, 36500), DEFAULT_DAYS)
    .option("--force", "replace an existing certificate and key of that name")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  sockkit certs issue alice\n" +
        "  sockkit certs issue sensor-17 --days 90 --dir /etc/sockkit/certs",
    )
    .action(action(async (name, opts) => {
      const dir = certsDir(opts);
      await sweep(dir);
      const out = await usage(issueClient(dir, name, {
        days: opts.days,
        ...(opts.force ? { force: true } : {}),
      }));
      const [c] = await parseCertificates(
        await Deno.readTextFile(out.cert),
        "client certificate",
        out.cert,
      );
      console.log(`Issued client certificate CN=${name}, valid until ${day(c!.notAfter)}:`);
      console.log(`  certificate  ${out.cert}`);
      console.log(`  key          ${out.key} (mode 0600)`);
      console.log(`  sha256       ${c!.fingerprint}`);
      console.log(`Give the client both files and the CA certificate (${dir}/ca.pem).`);
    }));
}

function allowCommand() {
  return new Command("allow")
    .summary("add a self-signed client certificate to the allow-list")
    .description(
      "Add an existing self-signed client certificate to the allow-list as a pin (a client is " +
        "accepted only with that very certificate, never one it signed), or with --ca an " +
        "operator CA whose client certificates are accepted (client_cas.pem)",
    )
    .argument("<file>", "certificate (PEM or DER), e.g. made with openssl req -x509")
    .option("--dir <dir>", DIR_HELP)
    .option("--ca", "allow a CA certificate: every client certificate it issues is accepted")
    .addHelpText(
      "after",
      "\nExample (a client makes its own certificate, the operator allows it):\n" +
        "  openssl req -x509 -newkey rsa:2048 -nodes -keyout bob.key -out bob.pem -days 365 -subj /CN=bob\n" +
        "  sockkit certs allow bob.pem\n" +
        "Servers read the allow-list when they start: restart them to pick up new entries.",
    )
    .action(action(async (file, opts) => {
      const dir = certsDir(opts);
      await sweep(dir);
      const r = await allowCert(dir, file, opts.ca ? { ca: true } : {});
      for (const w of r.warnings) console.error(`sockkit: warning: ${w}`);
      for (const c of r.added) {
        console.log(`Allowed CN=${c.name} (sha256 ${c.fingerprint}) in "${c.file}"`);
      }
      for (const c of r.present) {
        console.log(`Already allowed: CN=${c.name} (sha256 ${c.fingerprint})`);
      }
      if (r.added.length > 0) console.log("Restart the servers that use it to pick it up.");
    }));
}

function listCommand() {
  return new Command("list")
    .summary("list certificates: fingerprint, expiry, revoked or not")
    .description(
      "List the CA, server, issued and allowed certificates and the operator CAs with " +
        'fingerprint, expiry and status (valid, expired, revoked, or "not from this CA" for a ' +
        "client issued by a CA that init --force replaced: servers refuse it, re-issue it)",
    )
    .option("--dir <dir>", DIR_HELP)
    .option("--json", "print one JSON array instead of a table")
    .addHelpText("after", "\nExample:\n  sockkit certs list --dir /etc/sockkit/certs")
    .action(action(async (opts) => {
      const rows = await listCerts(certsDir(opts));
      if (opts.json) {
        console.log(JSON.stringify(rows.map((r) => ({ ...r, status: status(r) }))));
        return;
      }
      console.log(table(
        ["KIND", "NAME", "EXPIRES", "STATUS", "SHA-256 FINGERPRINT"],
        rows.map((r) => [r.kind, r.name || r.subject, day(r.notAfter), status(r), r.fingerprint]),
      ));
    }));
}

function revokeCommand() {
  return new Command("revoke")
    .summary("revoke a client certificate by name")
    .description(
      "Revoke the client certificate(s) named NAME: servers refuse them from the next connection",
    )
    .argument("<name>", "client name (CN) of an issued or allowed certificate")
    .option("--dir <dir>", DIR_HELP)
    .addHelpText(
      "after",
      "\nExample:\n  sockkit certs revoke alice\n" +
        "Running servers re-read revoked.json when it changes; no restart is needed.",
    )
    .action(action(async (name, opts) => {
      const dir = certsDir(opts);
      await sweep(dir);
      const added = await revoke(dir, name);
      if (added.length === 0) console.log(`CN=${name} was already revoked`);
      for (const e of added) console.log(`Revoked CN=${e.name} (sha256 ${e.fingerprint})`);
    }));
}

/** Builds `sockkit certs`. */
export function certsCommand() {
  const algos = KEY_ALGORITHMS.join(", ");
  return new Command("certs")
    .summary("create and manage the CA, server and client certificates (mTLS)")
    .description(
      "Create and manage the CA, server and client certificates the TLS services use " +
        `(keys: ${algos}; private keys mode 0600, never overwritten without --force)`,
    )
    .addCommand(initCommand())
    .addCommand(issueCommand())
    .addCommand(allowCommand())
    .addCommand(listCommand())
    .addCommand(revokeCommand())
    .addHelpText(
      "after",
      "\nDirectory layout:\n" +
        "  ca.pem ca.key  server.pem server.key  allowed.pem  client_cas.pem  revoked.json  issued.json\n" +
        "  clients/NAME.pem clients/NAME.key\n" +
        "\nExamples:\n" +
        "  sockkit certs init --hosts localhost,127.0.0.1,myhost.example\n" +
        "  sockkit certs issue alice\n" +
        "  sockkit certs list\n" +
        "  sockkit certs revoke alice",
    );
}
