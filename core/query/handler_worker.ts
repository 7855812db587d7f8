/// <reference lib="deno.worker" />
/**
 * A handler worker: imports the user's handler module once, keeps a copy of
 * the data (updated per file by the pool), and answers queries one message
 * at a time. A text query reaches the handler as a string, a JSON query as
 * the parsed value; the result is sent back as text (strings as they are,
 * other values as JSON) or as JSON.
 */
import type { HandlerWorkerEvent, HandlerWorkerRequest } from "./handler_messages.ts";

type Handler = (query: unknown, data: Record<string, unknown>) => unknown;

const data: Record<string, unknown> = {};
let handler: Handler | undefined;
let ready: Promise<void> = Promise.resolve();

function post(event: HandlerWorkerEvent): void {
  self.postMessage(event);
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

async function answer(id: number, representation: string, payload: string): Promise<void> {
  await ready;
  if (!handler) {
    post({ type: "error", id, error: "The handler module is not loaded" });
    return;
  }
  let query: unknown = payload;
  if (representation === "j") {
    try {
      query = JSON.parse(payload);
    } catch (err) {
      post({ type: "error", id, error: `Malformed JSON query: ${message(err)}` });
      return;
    }
  }
  try {
    const result = await handler(query, data);
    post({ type: "reply", id, text: encode(result, representation) });
  } catch (err) {
    post({ type: "error", id, error: `The handler failed: ${message(err)}` });
  }
}

self.addEventListener("unhandledrejection", (e) => e.preventDefault());

self.onmessage = (e: MessageEvent<HandlerWorkerRequest>) => {
  const m = e.data;
  switch (m.type) {
    case "init":
      ready = init(m.url);
      break;
    case "data":
      data[m.name] = m.data;
      break;
    case "query":
      void answer(m.id, m.representation, m.payload);
      break;
  }
};
