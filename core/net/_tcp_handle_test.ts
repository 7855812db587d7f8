import assert from "node:assert/strict";
import { nodeSocketOf, prepareTcpHandles } from "./_tcp_handle.ts";

Deno.test("nodeSocketOf wraps an accepted connection synchronously once prepared (a failed duplicate is known before the next accept)", async () => {
  await prepareTcpHandles();
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const raw = await listener.accept();
  let closed = false;
  const socket = nodeSocketOf(raw, () => closed = true);
  assert.ok(!(socket instanceof Promise), "a socket, not a promise of one");
  const got = new Promise<string>((resolve) => socket.once("data", (b) => resolve(String(b))));
  await client.write(new TextEncoder().encode("hi"));
  assert.equal(await got, "hi");
  const ended = new Promise((resolve) => socket.once("close", resolve));
  socket.destroy();
  await ended;
  assert.ok(closed, "onClose ran, and the accepted connection was closed with the socket");
  client.close();
});
