/**
 * A handler worker (`node:worker_threads`, for its heap cap): imports the user's handler module once, keeps a copy of
 * the data (updated per file by the pool), and answers batches of queries. A text query reaches the handler as a string, a JSON query as
 * the parsed value; the result is sent back as text (strings as they are,
 * other values as JSON) or as JSON.
 */
import { parentPort } from "node:worker_threads";
import type {
  HandlerWorkerEvent,
  HandlerWorkerRequest,
  WorkerQuery,
  WorkerReply,
} from "./handler_messages.ts";

type Handler = (query: unknown, data: Record<string, unknown>) => unknown;

const data: Record<string, unknown> = {};
let handler: Handler | undefined;
let ready: Promise<void> = Promise.resolve();

function post(event: HandlerWorkerEvent): void {
  parentPort!.postMessage(event);
}

function message(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

async function init(url: string): Promise<void> {
  try {
    const mod = await import(url);
    if (typeof mod.default !== "function") {
      post({
        type: "fatal",
        error:
          `The handler module "${url}" has no default export function (export default (query, data) => reply)`,
      });
      return;
    }
    handler = mod.default as Handler;
    post({ type: "ready" });
  } catch (err) {
    post({ type: "fatal", error: `Cannot load handler module "${url}": ${message(err)}` });
  }
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

/**
 * Runs a batch: synchronous replies go back together in one message (with
 * `batchDone`), async ones each in their own message when they settle.
 */
async function runBatch(queries: WorkerQuery[]): Promise<void> {
  await ready;
  const replies: WorkerReply[] = [];
  for (const q of queries) {
    const r = answer(q);
    if (r instanceof Promise) {
      r.then((reply) => post({ type: "replies", replies: [reply], batchDone: false }));
    } else replies.push(r);
  }
  post({ type: "replies", replies, batchDone: true });
}

// A handler's stray rejected promise must not kill its worker.
globalThis.addEventListener("unhandledrejection", (e) => e.preventDefault());

parentPort!.on("message", (m: HandlerWorkerRequest) => {
  switch (m.type) {
    case "init":
      ready = init(m.url);
      break;
    case "data":
      data[m.name] = m.data;
      break;
    case "batch":
      void runBatch(m.queries);
      break;
  }
});
