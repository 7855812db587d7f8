import assert from "node:assert/strict";
import { memoryPair } from "../net/mod.ts";
import { readRequest } from "./tcp_server.ts";

const dec = new TextDecoder();

Deno.test("readRequest() takes the bytes up to the first newline across chunks, CRLF accepted", async () => {
  const [client, server] = memoryPair();
  const req = readRequest(server, 1024);
  client.send("0pt0peo");
  client.send("ple 1\r\nleftover");
  const got = await req;
  assert.ok(got instanceof Uint8Array);
  assert.equal(dec.decode(got), "0pt0people 1");
  client.destroy();
});

Deno.test("readRequest() takes a request ended by the client's half-close", async () => {
  const [client, server] = memoryPair({ serverPolicy: { allowHalfOpen: true } });
  const req = readRequest(server, 1024);
  client.send("0pt0x");
  const ended = client.end();
  assert.equal(dec.decode((await req) as Uint8Array), "0pt0x");
  server.destroy();
  await ended;
});

Deno.test("readRequest() reports a request over the limit", async () => {
  const [client, server] = memoryPair();
  const req = readRequest(server, 8);
  client.send("0pt0 more than eight bytes");
  assert.equal(await req, "too-large");
  client.destroy();
});
