/** `broker serve --cluster` for the cluster tests. */
import { join } from "node:path";
import type { CliProcess } from "../harness/mod.ts";
import { startServer } from "../broker_helpers.ts";

/**
 * A starter of `broker serve --cluster URLS --cluster-name CLUSTER` processes:
 * server `name` listens on `port` with its state in `DIR/name`, with `extra`
 * flags after the cluster's.
 */
export function clusterServer(
  certs: string,
  dir: string,
  cluster: { urls: string[]; name: string; extra?: string[] },
): (name: string, port: number) => Promise<CliProcess> {
  return (name, port) =>
    startServer(certs, join(dir, name), port, [
      "--name",
      name,
      "--cluster",
      cluster.urls.join(","),
      "--cluster-name",
      cluster.name,
      ...(cluster.extra ?? []),
    ]);
}
