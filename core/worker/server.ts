/**
 * The worker side: {@linkcode serveWorker} answers a {@linkcode WorkerClient}'s
 * calls with the methods given, in order of arrival, and
 * {@linkcode emitEvent} sends an unasked message.
 */
import { parentPort } from "node:worker_threads";
import {
  type CallMessage,
  type Methods,
  type ReplyMessage,
  Transfer,
  type WireError,
  type WorkerMessage,
} from "./protocol.ts";

interface Channel {
  post(m: WorkerMessage, transfer?: Transferable[]): void;
  onCall(handler: (m: CallMessage) => void): void;
}

function channel(): Channel {
  if (parentPort) {
    const port = parentPort;
    return {
      post: (m, transfer) => port.postMessage(m, transfer as never),
      onCall: (h) => port.on("message", h),
    };
  }
  const scope = globalThis as unknown as {
    postMessage(m: unknown, transfer?: Transferable[]): void;
    onmessage: ((e: MessageEvent<CallMessage>) => void) | null;
  };
  return {
    post: (m, transfer) => scope.postMessage(m, transfer ?? []),
    onCall: (h) => scope.onmessage = (e) => h(e.data),
  };
}

let current: Channel | undefined;

/**
 * Serves `methods` to the thread that started this worker. A method may be
 * async; its result (or a {@linkcode Transfer} of it) is the reply, a thrown
 * error the failure (its `name` and `message` cross over). A call to an
 * unknown method fails with an error naming it.
 */
export function serveWorker(methods: Methods): void {
  const ch = current ??= channel();
  ch.onCall((m) => {
    const fn = methods[m.method];
    const run = async () => {
      if (!fn) throw new Error(`Unknown worker method "${m.method}"`);
      return await fn(m.arg);
    };
    run().then(
      (value) => {
        if (m.id === undefined) return;
        if (value instanceof Transfer) {
          ch.post({ kind: "reply", id: m.id, ok: true, value: value.value }, value.transfer);
        } else ch.post({ kind: "reply", id: m.id, ok: true, value } satisfies ReplyMessage);
      },
      (err) => {
        const error = toWire(err);
        if (m.id === undefined) emitEvent("error", error);
        else ch.post({ kind: "reply", id: m.id, ok: false, error });
      },
    );
  });
}

function toWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err) };
  const details: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(err)) {
    if (v === null || ["string", "number", "boolean"].includes(typeof v)) details[k] = v;
  }
  return {
    name: err.name,
    message: err.message,
    ...(Object.keys(details).length > 0 ? { details } : {}),
  };
}

/** Sends an unasked message to the main thread (its client's `onEvent`). */
export function emitEvent(name: string, data: unknown, transfer?: Transferable[]): void {
  (current ??= channel()).post({ kind: "event", name, data }, transfer);
}
