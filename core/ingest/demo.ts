import { createClient } from "redis";
import type { DemoContext } from "../demo/mod.ts";
import { certPaths, loadCertsDirTls, loadClientTls, revocationCheck } from "../pki/mod.ts";
import { sendObjects } from "./client.ts";
import { startIngest } from "./server.ts";

/**
 * The ingest demo: a mutual-TLS ingest server on loopback writing to the
 * demo's private Redis; "alice" sends objects back to back as the replaced
 * daemon's clients did, and the demo reads them back from Redis.
 */
export async function demo(ctx: DemoContext): Promise<string[]> {
  const paths = certPaths(ctx.certsDir);
  const redisUrl = await ctx.redisUrl();
  await using server = await startIngest({
    host: "127.0.0.1",
    port: 0,
    tls: await loadCertsDirTls(ctx.certsDir),
    authorize: revocationCheck(paths.revoked),
    redisUrl,
    keyPrefix: "demo:",
    ack: true,
    spoolDir: `${ctx.dir}/ingest-spool`,
    logger: ctx.logger,
  });
  const objects = [
    { sensor: "t-101", reading: 21.5 },
    { "device:7": { model: "X2", firmware: "1.4.2", tags: ["lab", "2nd floor"] } },
    { "device:7": { battery: 87 } },
  ];
  const sent = await sendObjects(objects, {
    host: "127.0.0.1",
    port: server.port,
    tls: await loadClientTls({
      ca: paths.ca,
      cert: paths.clientCert("alice"),
      key: paths.clientKey("alice"),
    }),
    ack: true,
  });
  const redis = createClient({ url: redisUrl });
  redis.on("error", () => {});
  await redis.connect();
  try {
    const reading = await redis.get("demo:reading");
    const device = await redis.hGetAll("demo:device:7");
    if (sent.acknowledged !== objects.length || device.battery !== "87") {
      throw new Error(
        `ingest demo: expected ${objects.length} stored objects, got ${sent.acknowledged}`,
      );
    }
    return [
      `alice sent ${sent.sent} JSON objects back to back over mutual TLS to 127.0.0.1:${server.port}; ${sent.acknowledged} acknowledged as stored`,
      `GET demo:sensor → ${await redis.get("demo:sensor")}, GET demo:reading → ${reading}`,
      `HGETALL demo:device:7 → ${JSON.stringify(device)} (second object merged into the hash)`,
    ];
  } finally {
    await redis.close();
  }
}
