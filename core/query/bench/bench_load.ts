/**
 * The load generator of the query benchmark: keeps `concurrency` queries in
 * flight (one UDP socket per slot, or one TCP connection per query) for a
 * bounded count and time, and records each query's latency. Runs inside
 * `bench_worker.ts` so that it does not share a thread with the server.
 */
import { bindDatagram, type DatagramSocket } from "../../net/mod.ts";
import { ask } from "../client.ts";
import { importRawPublicKey, openReply, type PublicKey, sealQuery } from "../crypto.ts";
import { encodeHeader, encodeMessage, errorOf, type Header, HEADER_BYTES } from "../wire.ts";

/** What to run. */
export interface LoadConfig {
  transport: "tcp" | "udp";
  port: number;
  /** Raw server public key: encrypt every query when given. */
  serverKey?: Uint8Array;
  /** Stop after this many queries. */
  queries: number;
  /** Stop after this long, ms. */
  maxMs: number;
  /** Queries in flight at once. */
  concurrency: number;
  /** Keys are drawn from `1..rows`. */
  rows: number;
}

/** What happened. */
export interface LoadResult {
  /** Replies received. */
  done: number;
  /** Error replies, lost datagrams and wrong answers. */
  errors: number;
  /** Wall time of the run, ms. */
  elapsedMs: number;
  /** Latencies of the answered queries, ms, sorted. */
  latencies: number[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HEADER: Header = { encryption: "p", representation: "t" };
const EHEADER: Header = { encryption: "E", representation: "t" };

function keyFor(i: number, rows: number): string {
  return String(((i * 7919) % rows) + 1);
}

/** Checks that a reply answers the key asked (the bench handler echoes the id). */
function correct(text: string, key: string): boolean {
  return errorOf("t", text) === undefined && text.includes(`"id":"${key}"`);
}

const SERVER = (c: LoadConfig) => ({ hostname: "127.0.0.1", port: c.port });

interface Slot {
  socket: DatagramSocket;
  key: string;
  aes: CryptoKey | undefined;
  t0: number;
  busy: boolean;
}

/**
 * UDP: `concurrency` sockets, each with one query outstanding, driven by
 * events (no timer or promise per query); a sweep counts a query with no
 * reply after 2 s as lost and moves on.
 */
async function udpLoad(c: LoadConfig, server: PublicKey | undefined): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  const start = performance.now();
  const deadline = start + c.maxMs;
  const header = server ? EHEADER : HEADER;
  const headerBytes = encodeHeader(header);
  const to = SERVER(c);
  const slots: Slot[] = [];
  let finish!: () => void;
  const finished = new Promise<void>((r) => finish = r);
  const maybeDone = () => {
    if (slots.every((s) => !s.busy)) finish();
  };
  const next = async (slot: Slot) => {
    if (sent >= c.queries || performance.now() >= deadline) {
      slot.busy = false;
      maybeDone();
      return;
    }
    const key = keyFor(sent++, c.rows);
    let payload = encoder.encode(key);
    slot.aes = undefined;
    if (server) {
      const sealed = await sealQuery(server, headerBytes, payload);
      payload = sealed.payload;
      slot.aes = sealed.key;
    }
    slot.key = key;
    slot.busy = true;
    slot.t0 = performance.now();
    slot.socket.send(encodeMessage(header, payload), to);
  };
  const onReply = async (slot: Slot, reply: Uint8Array) => {
    if (!slot.busy) return;
    latencies.push(performance.now() - slot.t0);
    try {
      let body = reply.subarray(HEADER_BYTES);
      if (slot.aes && reply[1] === 0x45) {
        body = await openReply(slot.aes, reply.subarray(0, HEADER_BYTES), body);
      }
      if (!correct(decoder.decode(body), slot.key)) errors++;
    } catch {
      errors++;
    }
    await next(slot);
  };
  for (let i = 0; i < c.concurrency; i++) {
    const slot: Slot = { socket: undefined!, key: "", aes: undefined, t0: 0, busy: true };
    slot.socket = await bindDatagram({
      hostname: "127.0.0.1",
      onMessage: (m) => void onReply(slot, m),
    });
    slots.push(slot);
  }
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const slot of slots) {
      if (slot.busy && now - slot.t0 > 2000) {
        errors++;
        void next(slot);
      }
    }
  }, 250);
  for (const slot of slots) void next(slot);
  await finished;
  clearInterval(sweep);
  const elapsedMs = performance.now() - start;
  await Promise.all(slots.map((s) => s.socket.close()));
  return { done: latencies.length, errors, elapsedMs, latencies };
}

/**
 * UDP plain: one socket with `concurrency` queries outstanding; a reply is
 * matched to its query by the row id it carries (a reply without the right
 * id is an error). Fewer sockets than {@linkcode udpLoad} means fewer pending
 * receive operations per reply.
 */
async function udpLoadShared(c: LoadConfig): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  const start = performance.now();
  const deadline = start + c.maxMs;
  const outstanding = new Map<string, number>();
  let finish!: () => void;
  const finished = new Promise<void>((r) => finish = r);
  const sendNext = () => {
    if (sent >= c.queries || performance.now() >= deadline) {
      if (outstanding.size === 0) finish();
      return;
    }
    const key = keyFor(sent++, c.rows);
    outstanding.set(key, performance.now());
    socket.send(encodeMessage(HEADER, encoder.encode(key)), server);
  };
  const idOf = (reply: Uint8Array): string | undefined => {
    return /"id":"(\d+)"/.exec(decoder.decode(reply.subarray(HEADER_BYTES)))?.[1];
  };
  const server = SERVER(c);
  const onReply = (reply: Uint8Array) => {
    const key = idOf(reply);
    const t0 = key === undefined ? undefined : outstanding.get(key);
    if (key === undefined || t0 === undefined) {
      errors++;
      return;
    }
    outstanding.delete(key);
    latencies.push(performance.now() - t0);
    sendNext();
  };
  const socket = await bindDatagram({ hostname: "127.0.0.1", onMessage: onReply });
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const [key, t0] of outstanding) {
      if (now - t0 > 2000) {
        outstanding.delete(key);
        errors++;
        sendNext();
      }
    }
  }, 250);
  for (let i = 0; i < c.concurrency; i++) sendNext();
  await finished;
  clearInterval(sweep);
  const elapsedMs = performance.now() - start;
  await socket.close();
  return { done: latencies.length, errors, elapsedMs, latencies };
}

async function tcpLoad(c: LoadConfig, server: PublicKey | undefined): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  const start = performance.now();
  const deadline = start + c.maxMs;
  await Promise.all(Array.from({ length: c.concurrency }, async () => {
    while (sent < c.queries && performance.now() < deadline) {
      const key = keyFor(sent++, c.rows);
      const t0 = performance.now();
      try {
        const r = await ask(key, {
          port: c.port,
          transport: "tcp",
          ...(server ? { serverKey: server } : {}),
        });
        latencies.push(performance.now() - t0);
        if (r.error !== undefined || !correct(r.text, key)) errors++;
      } catch {
        errors++;
      }
    }
  }));
  return { done: latencies.length, errors, elapsedMs: performance.now() - start, latencies };
}

/** Runs one load and returns its counts and sorted latencies. */
export async function runLoad(c: LoadConfig): Promise<LoadResult> {
  const server = c.serverKey ? await importRawPublicKey(c.serverKey) : undefined;
  const r = c.transport === "tcp"
    ? await tcpLoad(c, server)
    : server
    ? await udpLoad(c, server)
    : await udpLoadShared(c);
  r.latencies.sort((a, b) => a - b);
  return r;
}
