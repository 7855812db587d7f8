import assert from "node:assert/strict";
import { freeTcpPort } from "./free_port.ts";

Deno.test("freeTcpPort() gives a bindable port below the kernel's range for outgoing connections", () => {
  const low = Number(
    Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").trim().split(/\s+/)[0],
  );
  for (let i = 0; i < 20; i++) {
    const port = freeTcpPort();
    assert.ok(port >= 10_000 && port < low, `${port} is not in [10000, ${low})`);
    Deno.listen({ hostname: "127.0.0.1", port }).close();
  }
});
