import assert from "node:assert/strict";
import { connect, type Connection } from "../../core/net/mod.ts";
import { loadClientTls } from "../../core/pki/mod.ts";
import type { CliProcess } from "./cli.ts";
import type { Daemon } from "./daemon.ts";
import type { TestPki } from "./pki.ts";

/**
 * A non-loopback IPv4 address of this machine, if it has one: per-address
 * caps exempt loopback, so a cap test connects over this address (and is
 * skipped without one).
 */
export const ownAddress: string | undefined = Deno.networkInterfaces().find((i) =>
  i.family === "IPv4" && !i.address.startsWith("127.")
)?.address;

/**
 * Opens one more plain TCP connection to {@linkcode ownAddress}:`port` and
 * asserts that the server closes it at once, before anything is sent.
 */
async function assertClosedAtOnce(port: number): Promise<void> {
  const extra = await Deno.connect({ hostname: ownAddress!, port });
  try {
    assert.equal(
      await extra.read(new Uint8Array(64)),
      null,
      "the connection over the per-address cap is closed at once",
    );
  } finally {
    extra.close();
  }
}

/** Waits until the daemon `srv` logs a refusal over the per-address cap `cap`. */
async function waitForCapRefusal(srv: CliProcess, cap: number): Promise<void> {
  await srv.waitForLine(
    new RegExp(`refused client.*too many connections from .*the per-address cap is ${cap}\\b`),
  );
}

/**
 * For a plain TCP daemon `srv` capped at `cap` connections per address:
 * holds `cap` connections from {@linkcode ownAddress}, asserts that one more
 * is closed at once and the refusal logged, and returns the held ones (still
 * open, for the caller to use and close).
 *
 * @example
 * ```ts
 * const [c, other] = await holdUpToCap(srv, 2);
 * ```
 */
export async function holdUpToCap(srv: Daemon, cap: number): Promise<Deno.TcpConn[]> {
  const held: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < cap; i++) {
      held.push(await Deno.connect({ hostname: ownAddress!, port: srv.port }));
    }
    await assertClosedAtOnce(srv.port);
    await waitForCapRefusal(srv, cap);
    return held;
  } catch (err) {
    for (const h of held) h.close();
    throw err;
  }
}

/**
 * Connects to {@linkcode ownAddress}:`port` over mutual TLS as `pki`'s client
 * `name` (verifying the server certificate for "localhost") and resolves once
 * the handshake is done.
 */
async function connectOwnAddressTls(
  port: number,
  pki: TestPki,
  name: string,
): Promise<Connection> {
  const tls = await loadClientTls({ ca: pki.paths.ca, ...pki.client(name) });
  return await connect({
    host: ownAddress!,
    port,
    tls: { ...tls, servername: "localhost" },
    timeoutMs: 5000,
  });
}

/**
 * For a mutual-TLS daemon `srv` capped at 2 connections per address: holds
 * one connection that completes its handshake as `pki`'s client `name` and
 * one plain TCP connection still in its handshake, then asserts that a third
 * is closed at once (and logged) while the held TLS connection stays open.
 */
export async function assertTlsCapOfTwo(
  srv: Daemon,
  pki: TestPki,
  name: string,
): Promise<void> {
  const live = await connectOwnAddressTls(srv.port, pki, name);
  const stalled = await Deno.connect({ hostname: ownAddress!, port: srv.port });
  try {
    await assertClosedAtOnce(srv.port);
    // checked at once: a broker closes a link that sends no hello after a second
    assert.equal(live.isClosed, false, "the held TLS connection stays open");
    await waitForCapRefusal(srv, 2);
  } finally {
    stalled.close();
    live.destroy();
    await live.closed;
  }
}
