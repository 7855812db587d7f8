/**
 * A handler worker (`node:worker_threads`, for its heap cap): imports the user's handler module once, keeps a copy of
 * the data (updated per file by the pool), and answers batches of queries. A text query reaches the handler as a string, a JSON query as
 * the parsed value; the result is sent back as text (strings as they are,
 * other values as JSON) or as JSON.
 */
import { emitEvent, serveWorker } from "../worker/mod.ts";
import type { HandlerRepliesEvent, WorkerQuery, WorkerReply } from "./handler_messages.ts";
import { WorkerLane } from "./_handler_channel.ts";
import { errorText } from "../log/mod.ts";

type Handler = (query: unknown, data: Record<string, unknown>) => unknown;

/**
 * The handler's `data`: the files by name, each file's top-level object (its
 * keyed rows) as a dictionary with no prototype, as a Python dict is, so a
 * key no row has (`constructor`, `toString`) is `undefined` and a row keyed
 * `__proto__` is a row like any other.
 */
const data: Record<string, unknown> = Object.create(null);

/** `d` without `Object.prototype` above it when it is a plain object (the structured clone put it back). */
function dictionary(d: unknown): unknown {
  if (typeof d === "object" && d !== null && Object.getPrototypeOf(d) === Object.prototype) {
    Object.setPrototypeOf(d, null);
  }
  return d;
}
let handler: Handler | undefined;
let ready: Promise<void> = Promise.resolve();

/** Sends replies by message (event "replies"). */
function post(event: HandlerRepliesEvent): void {
  emitEvent("replies", event);
}

const message = (err: unknown): string => errorText(err, true);

/** Loads the handler module; rejects with the reason it cannot be used. */
async function init(url: string): Promise<void> {
  let mod;
  try {
    mod = await import(url);
  } catch (err) {
    throw new Error(`Cannot load handler module "${url}": ${message(err)}`);
  }
  if (typeof mod.default !== "function") {
    throw new Error(
      `The handler module "${url}" has no default export function (export default (query, data) => reply)`,
    );
  }
  handler = mod.default as Handler;
}

function encode(result: unknown, representation: string): string {
  if (representation === "t" && typeof result === "string") return result;
  let text: string | undefined;
  try {
    text = JSON.stringify(result);
  } catch (err) {
    throw new TypeError(`The handler's reply cannot be sent as JSON: ${message(err)}`);
  }
  return text ?? "null";
}

/** Runs one query; returns its reply, or a promise of it for async handlers. */
function answer(q: WorkerQuery): WorkerReply | Promise<WorkerReply> {
  if (!handler) return { id: q.id, error: "The handler module is not loaded" };
  let query: unknown = q.payload;
  if (q.representation === "j") {
    try {
      query = JSON.parse(q.payload);
    } catch (err) {
      return { id: q.id, error: `Malformed JSON query: ${message(err)}` };
    }
  }
  const failed = (err: unknown): WorkerReply => ({
    id: q.id,
    error: `The handler failed: ${message(err)}`,
  });
  const done = (result: unknown): WorkerReply => {
    try {
      return { id: q.id, text: encode(result, q.representation) };
    } catch (err) {
      return { id: q.id, error: message(err) };
    }
  };
  try {
    const result = handler(query, data);
    if (result instanceof Promise) return result.then(done, failed);
    return done(result);
  } catch (err) {
    return failed(err);
  }
}

/** Async handlers whose reply has not been sent yet. */
let asyncPending = 0;

/**
 * Runs a batch: returns the synchronous replies (they go back together,
 * marking the batch done); an async handler's reply goes in its own message
 * when it settles.
 */
function answerBatch(queries: WorkerQuery[]): WorkerReply[] {
  const replies: WorkerReply[] = [];
  for (const q of queries) {
    const r = answer(q);
    if (r instanceof Promise) {
      asyncPending++;
      r.then((reply) => {
        asyncPending--;
        post({ replies: [reply], batchDone: false });
      });
    } else replies.push(r);
  }
  return replies;
}

/** Runs a batch that came by message (see {@linkcode answerBatch}); the reply ends the batch. */
async function runBatch(queries: WorkerQuery[]): Promise<WorkerReply[]> {
  await ready;
  return answerBatch(queries);
}

/** How long a worker that just answered stays parked in `Atomics.wait` for the next batch, ms. */
const PARK_MS = 2;
/** Longest stretch without a turn of the event loop while batches keep coming, ms. */
const TURN_MS = 50;

const turn = () => new Promise<void>((r) => setTimeout(r, 0));

/**
 * Serves batches from the shared-memory lane: after a batch the thread
 * parks in `Atomics.wait` for the next (a fast wake-up). It waits without
 * blocking instead while async handlers are pending, when the pool nudges it
 * (a message waits) and after `PARK_MS` without a batch, and turns its event
 * loop at least every `TURN_MS`.
 */
async function serveLane(lane: WorkerLane): Promise<void> {
  await ready;
  for (;;) {
    let batch: WorkerQuery[] | undefined = await lane.next();
    let turnAt = performance.now() + TURN_MS;
    while (batch) {
      const replies = answerBatch(batch);
      if (!lane.reply(replies)) post({ replies, batchDone: true });
      // While async handlers run, wait without blocking their event loop.
      if (asyncPending > 0) break;
      if (performance.now() >= turnAt) {
        await turn();
        turnAt = performance.now() + TURN_MS;
      }
      batch = lane.take(PARK_MS);
    }
  }
}

// A handler's stray rejected promise must not kill its worker.
globalThis.addEventListener("unhandledrejection", (e) => e.preventDefault());

/** The methods {@linkcode HandlerPool} calls, through `WorkerClient`. */
export const handlerMethods = {
  /** Loads the handler module; the reply is "ready", a failure is fatal. */
  init: (url: string): Promise<void> => {
    const loading = init(url);
    ready = loading.catch(() => {});
    return loading;
  },
  /** Replaces one file's data. */
  data: ({ name, data: d }: { name: string; data: unknown }): void => {
    data[name] = dictionary(d);
  },
  /** Starts serving batches from the shared-memory lane. */
  lane: (memory: SharedArrayBuffer): void => {
    void serveLane(new WorkerLane(memory));
  },
  /** Runs a batch that came by message; the reply is its synchronous replies. */
  batch: (queries: WorkerQuery[]): Promise<WorkerReply[]> => runBatch(queries),
};

serveWorker(handlerMethods);
