/**
 * `sockkit clientcli`: the terminal client of servercli. Reads standard
 * input and the socket at the same time and prints dates, replies and
 * errors labelled, the moment they arrive.
 */
import { Command } from "@commander-js/extra-typings";
import { parse } from "../core/config/mod.ts";
import { type ClientEvent, REPLACED_SERVER_CERT, runClient } from "../core/chat/mod.ts";
import { certificateNames, type ClientTlsOptions, connect } from "../core/net/mod.ts";
import { loadClientTls } from "../core/pki/mod.ts";
import { action, plural } from "./_cli.ts";
import { settingsOf, withSettings } from "./_settings.ts";
import { errorText } from "../core/log/mod.ts";

const DEFAULT_CA = "certs/ca.pem";

const SPECS = {
  host: {
    parse: parse.string,
    flag: "--host",
    arg: "<host>",
    help: "server host",
    env: "SOCKKIT_CLIENTCLI_HOST",
    default: "localhost",
  },
  port: {
    parse: parse.port,
    flag: "--port",
    arg: "<port>",
    help: "server port",
    env: "SOCKKIT_CLIENTCLI_PORT",
    default: 3443,
  },
  ca: {
    parse: parse.string,
    flag: "--ca",
    arg: "<file>",
    help: "CA certificate of the server",
    defaultHelp:
      `${DEFAULT_CA} if it exists, else ${REPLACED_SERVER_CERT.cert} (the replaced client's: then, as there, the host name is not checked unless --servername is given)`,
    env: "SOCKKIT_CLIENTCLI_CA",
  },
  cert: {
    parse: parse.string,
    flag: "--cert",
    arg: "<file>",
    help: "client certificate, for servers that require one",
    env: "SOCKKIT_CLIENTCLI_CERT",
  },
  key: {
    parse: parse.string,
    flag: "--key",
    arg: "<file>",
    help: "client private key, with --cert",
    env: "SOCKKIT_CLIENTCLI_KEY",
  },
};

const encoder = new TextEncoder();

function write(text: string): void {
  try {
    Deno.stdout.writeSync(encoder.encode(text));
  } catch {
    // stdout closed (for example piped into `head`): nothing left to show.
  }
}

/**
 * What to do about a failed connection attempt `err`, when the cause is a
 * known certificate problem: for a host-name mismatch, the `--servername`
 * to pass, named from the server certificate itself.
 */
export function connectHint(err: unknown, ca: { file?: string; given: boolean }): string {
  const message = errorText(err);
  if (
    /self[- ]signed certificate|unable to (get local issuer|verify)|UnknownIssuer/i.test(message)
  ) {
    return ca.given
      ? " (the --ca file did not sign the server certificate: pass the server's own CA, e.g. its certs/ca.pem, or the certificate itself for a self-signed one)"
      : ca.file !== undefined
      ? ` (no CA given, so "${ca.file}" in this directory was trusted and did not sign the server certificate: pass --ca with the server's CA certificate)`
      : ` (no CA given and "${DEFAULT_CA}" is not in this directory: pass --ca with the server's CA certificate, e.g. --ca /path/to/certs/ca.pem)`;
  }
  const names = certificateNames(err);
  if (names !== undefined) {
    return names.length === 0
      ? " (the server certificate holds no host name, so no --servername can match it: ask for a certificate made for the server's name; --insecure skips the check, testing only)"
      : ` (the server certificate names another host: pass --servername NAME with a name it holds, e.g. --servername ${
        names[0]
      })`;
  }
  if (/does not match certificate|not in the cert's list|NotValidForName/i.test(message)) {
    return " (the server certificate names another host: pass --servername NAME with a name it holds)";
  }
  return "";
}

/** `date  2026-11-24`, `reply olleh`, `error Server full...` */
export function labelled(event: ClientEvent): string {
  return `${event.kind.padEnd(5)} ${event.text}`;
}

/** Standard input as lines (without `\n` or `\r\n`); the last unterminated line counts too. */
async function* stdinLines(afterLine: () => void): AsyncGenerator<string> {
  let buf = "";
  for await (const text of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    buf += text;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, nl).replace(/\r$/, "");
      buf = buf.slice(nl + 1);
      afterLine();
    }
  }
  if (buf !== "") yield buf;
}

/** The first of `paths` that is a file, if any. */
async function firstExisting(paths: readonly string[]): Promise<string | undefined> {
  for (const path of paths) {
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch {
      // missing or unreadable: try the next
    }
  }
  return undefined;
}

/** Builds the `clientcli` command. */
export function clientcliCommand(): Command {
  return withSettings(
    new Command("clientcli")
      .description(
        "Terminal client for servercli: sends each line you type (or pipe in), prints the " +
          "server's dates and replies labelled as they arrive.",
      ),
    SPECS,
  )
    .option(
      "--servername <name>",
      "verify the server certificate for NAME instead of --host (e.g. --host 10.0.0.5 --servername localhost)",
    )
    .option("--insecure", "do not verify the server certificate (testing only)")
    .option("--json", "the server sends JSON lines (otherwise detected from the first line)")
    .addHelpText(
      "after",
      '\nOutput: one line per server message, labelled "date ", "reply" or "error".\n' +
        'On a terminal a "> " prompt is redrawn below each incoming line; what you were typing\n' +
        "stays in the terminal's line buffer and is sent when you press Return. Ctrl-D quits\n" +
        "after the replies still owed. With piped input every line is sent and clientcli exits 0\n" +
        "after the last reply. A refused or lost connection exits 1.\n" +
        "A server whose certificate names another host: --host ADDRESS --servername NAME --ca FILE\n" +
        "(verified for NAME, no --insecure needed).\n" +
        "\n" +
        "Example:\n  printf 'hello\\nabc  \\n' | sockkit clientcli --port 3443",
    )
    .action(action(async (opts, cmd) => {
      const s = settingsOf(SPECS, cmd);
      const ca = s.ca ?? await firstExisting([DEFAULT_CA, REPLACED_SERVER_CERT.cert]);
      const files = {
        ...(ca !== undefined && !opts.insecure ? { ca } : {}),
        ...(s.cert !== undefined ? { cert: s.cert } : {}),
        ...(s.key !== undefined ? { key: s.key } : {}),
      };
      const tls: ClientTlsOptions = await loadClientTls(files);
      if (opts.insecure) tls.insecure = true;
      if (opts.servername !== undefined) tls.servername = opts.servername;
      if (
        s.ca === undefined && ca === REPLACED_SERVER_CERT.cert && !opts.insecure &&
        opts.servername === undefined
      ) {
        // The replaced client pinned certs/my.crt with check_hostname = False:
        // its README-made my.crt (CN=example.com) is reached as localhost.
        tls.checkServerName = false;
        console.error(
          `sockkit: trusting ${REPLACED_SERVER_CERT.cert} as the replaced client did: the server certificate must be signed by it, its host name is not checked (pass --ca, or --servername NAME, to check it)`,
        );
      }
      const where = `${s.host}:${s.port}`;
      let conn;
      try {
        conn = await connect({ host: s.host, port: s.port, tls });
      } catch (err) {
        const message = errorText(err);
        throw new Error(
          message.trimEnd() + connectHint(err, {
            ...(files.ca !== undefined ? { file: files.ca } : {}),
            given: s.ca !== undefined,
          }),
          {
            cause: err,
          },
        );
      }

      const prompt = Deno.stdin.isTerminal() && Deno.stdout.isTerminal();
      if (prompt) {
        console.error(`Connected to ${where}. Type a line and press Return; Ctrl-D quits.`);
        write("> ");
      }
      let received = 0;
      let replies = 0;
      const outcome = await runClient(conn, {
        input: stdinLines(() => prompt && write("> ")),
        json: opts.json === true,
        onEvent: (event) => {
          received++;
          if (event.kind === "reply") replies++;
          // Clear the prompt line, print the message, redraw the prompt.
          write(prompt ? `\r\x1b[2K${labelled(event)}\n> ` : `${labelled(event)}\n`);
        },
      });
      if (prompt) write("\n");
      if (outcome.kind === "done") return 0;
      let msg = `Connection to ${where} lost: ${outcome.reason}`;
      if (outcome.lastError !== undefined) msg += ` (server said: ${outcome.lastError})`;
      else if (received > 0) msg += ` after ${plural(replies, "reply", "replies")}`;
      else {
        // servercli always says why it closes a connection; closing before any
        // line means it refused the TLS handshake (TLS 1.3 reports that only now).
        msg += s.cert === undefined
          ? " right after the TLS handshake without sending anything: it refused the handshake, most likely because it requires a client certificate (pass --cert and --key), or because it caps the connections from this address (its log says which)"
          : ` right after the TLS handshake without sending anything: it refused the handshake, most likely because it does not allow the client certificate "${s.cert}", or because it caps the connections from this address (its log says which)`;
      }
      if (outcome.outstanding > 0) {
        msg += `; ${plural(outcome.outstanding, "reply", "replies")} never arrived`;
      }
      console.error(`sockkit: ${msg}`);
      return 1;
    }));
}
