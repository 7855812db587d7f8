/**
 * The anchor of the broker bench's "one acknowledged message in flight"
 * figure: NATS JetStream publish-with-ack into a file-backed stream, one
 * publish at a time. When the nats-server given has no JetStream, a private
 * `nats-server -js` (from the PATH) is started for the measurement and
 * stopped after it.
 *
 * @module
 */
import { join } from "node:path";
import { type NatsProcess, startNatsServer } from "../_nats_process.ts";

/** What the JetStream measurement found. */
export interface JetStreamFigure {
  /** Publishes/s with one in flight, each awaiting its PubAck. */
  rate: number;
  /** The nats-server version that answered. */
  version: string;
  /** Where it ran: the given server, or a private one started for the bench. */
  server: string;
}

/** Starts `nats-server -js` on a free loopback port; undefined when it is not installed. */
function privateServer(dir: string): Promise<NatsProcess | undefined> {
  return startNatsServer(["-js", "-sd", join(dir, "js")]);
}

/** Publishes `n` messages of `size` bytes one at a time to a JetStream file stream. */
async function measure(url: string, n: number, size: number): Promise<JetStreamFigure | undefined> {
  const { connect, StorageType } = await import("nats");
  let nc;
  try {
    nc = await connect({ servers: url, timeout: 2000 });
  } catch {
    return undefined;
  }
  try {
    let jsm;
    try {
      jsm = await nc.jetstreamManager({ timeout: 2000 });
    } catch {
      return undefined; // no JetStream on this server
    }
    const name = `sockkit_bench_${crypto.randomUUID().slice(0, 8)}`;
    await jsm.streams.add({ name, subjects: [`${name}.>`], storage: StorageType.File });
    try {
      const js = nc.jetstream();
      const data = new TextEncoder().encode("x".repeat(size));
      const subj = `${name}.m`;
      for (let i = 0; i < Math.min(200, n); i++) await js.publish(subj, data); // warm-up
      const t = performance.now();
      for (let i = 0; i < n; i++) await js.publish(subj, data);
      const rate = n / ((performance.now() - t) / 1000);
      return { rate, version: nc.info?.version ?? "?", server: url };
    } finally {
      await jsm.streams.delete(name).catch(() => {});
    }
  } finally {
    await nc.close();
  }
}

/**
 * JetStream publish-with-ack, one in flight, on `natsUrl` or (when it has
 * no JetStream or is unreachable) on a private `nats-server -js`.
 * Undefined when neither is available, or `natsUrl` is `""` (no anchors).
 */
export async function jetStreamFigure(
  natsUrl: string,
  n: number,
  size: number,
): Promise<JetStreamFigure | undefined> {
  if (!natsUrl) return undefined;
  const given = await measure(natsUrl, n, size);
  if (given) return given;
  const dir = await Deno.makeTempDir({ prefix: "sockkit-bench-jetstream-" });
  try {
    const own = await privateServer(dir);
    if (!own) return undefined;
    try {
      const f = await measure(own.url, n, size);
      return f && { ...f, server: `private nats-server -js on ${own.url}` };
    } finally {
      await own.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
