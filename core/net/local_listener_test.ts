import assert from "node:assert/strict";
import {
  type Connection,
  connectLocal,
  listenLocal,
  LocalConnectError,
  LocalSocketInUseError,
} from "./mod.ts";

const dec = new TextDecoder();

async function tempSocketPath(): Promise<{ dir: string; path: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "sockkit-local-" });
  return {
    dir,
    path: `${dir}/app.sock`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

function collect(
  conn: Connection,
): { text: () => string; bytes: () => number; ended: Promise<void> } {
  let text = "";
  let bytes = 0;
  let ended!: () => void;
  const p = new Promise<void>((r) => ended = r);
  conn.receive({
    data: (b) => {
      bytes += b.length;
      if (text.length < 1024) text += dec.decode(b);
    },
    end: () => ended(),
  });
  return { text: () => text, bytes: () => bytes, ended: p };
}

Deno.test("listenLocal() serves connections on a mode 0600 socket and close() removes it", async () => {
  await using tmp = await tempSocketPath();
  const server = await listenLocal({ path: tmp.path }, (conn, signal) => {
    conn.receive({ data: (b) => void conn.send(b) });
    signal.addEventListener("abort", () => void conn.end("bye"));
    return conn.closed;
  });
  assert.equal((await Deno.stat(tmp.path)).mode! & 0o777, 0o600);
  const client = await connectLocal(tmp.path);
  assert.equal(client.peer.address, "local");
  const got = collect(client);
  client.send("hello");
  while (got.text() !== "hello") await new Promise((r) => setTimeout(r, 5));
  assert.equal(server.connections.size, 1);
  await server.close();
  await got.ended; // the server said goodbye and closed: the client saw EOF
  assert.equal(got.text(), "hellobye");
  await client.closed;
  await assert.rejects(Deno.stat(tmp.path), Deno.errors.NotFound);
});

Deno.test("listenLocal() refuses a path a live process listens on, and replaces a stale socket file", async () => {
  await using tmp = await tempSocketPath();
  await Deno.writeTextFile(tmp.path, "stale");
  await using _first = await listenLocal({ path: tmp.path }, (conn) => conn.close());
  assert.ok((await Deno.stat(tmp.path)).isSocket);
  await assert.rejects(
    listenLocal({ path: tmp.path }, (conn) => conn.close()),
    (err: unknown) => err instanceof LocalSocketInUseError && err.path === tmp.path,
  );
});

Deno.test("connectLocal() says nobody listens when the socket file is missing", async () => {
  await using tmp = await tempSocketPath();
  await assert.rejects(connectLocal(tmp.path), (err: unknown) => {
    assert.ok(err instanceof LocalConnectError);
    assert.equal(err.noListener, true);
    assert.match(
      err.message,
      /^Cannot connect to the local socket ".*app\.sock": no such socket file$/,
    );
    return true;
  });
});

Deno.test("a paused local connection stops reading: the writer's output backs up, then all of it arrives", async () => {
  await using tmp = await tempSocketPath();
  let serverSide!: Connection;
  let got!: ReturnType<typeof collect>;
  const ready = Promise.withResolvers<void>();
  await using _server = await listenLocal({ path: tmp.path }, (conn) => {
    serverSide = conn;
    got = collect(conn);
    conn.pause();
    ready.resolve();
    return conn.closed;
  });
  const client = await connectLocal(tmp.path);
  await ready.promise;
  const total = 8 * 1024 * 1024;
  const chunk = new Uint8Array(64 * 1024);
  for (let sent = 0; sent < total; sent += chunk.length) client.send(chunk);
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(got.bytes() < total / 2, `a paused side read ${got.bytes()} of ${total} bytes`);
  assert.ok(client.congested, `the writer still has ${client.unsent} bytes unsent`);
  serverSide.resume();
  await client.drained();
  while (got.bytes() < total) await new Promise((r) => setTimeout(r, 5));
  assert.equal(got.bytes(), total);
  await client.close();
});
