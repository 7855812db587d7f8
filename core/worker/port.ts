/**
 * The two kinds of worker behind one small interface: a Web Worker (Deno's
 * own) and a `node:worker_threads` Worker (which has heap caps).
 */
import { Worker as ThreadWorker, type WorkerOptions as ThreadOptions } from "node:worker_threads";
import type { CallMessage, WorkerMessage } from "./protocol.ts";

/** One running worker, as a {@linkcode WorkerClient} drives it. */
export interface WorkerPort {
  post(message: CallMessage, transfer?: Transferable[]): void;
  /**
   * Calls `onMessage` for each message and `onFailure` once when the worker
   * dies, with what it died of and the error it died of, when there is one
   * (from `node:worker_threads` it carries a `code`:
   * `"ERR_WORKER_OUT_OF_MEMORY"` at a heap cap).
   */
  listen(
    onMessage: (m: WorkerMessage) => void,
    onFailure: (message: string, cause?: unknown) => void,
  ): void;
  terminate(): void;
}

/** A Deno Web Worker running the module at `url`. */
export function webWorker(url: URL, options: WorkerOptions = { type: "module" }): WorkerPort {
  const w = new Worker(url, { type: "module", ...options });
  return {
    post: (m, transfer) => w.postMessage(m, transfer ?? []),
    listen(onMessage, onFailure) {
      w.onmessage = (e: MessageEvent<WorkerMessage>) => onMessage(e.data);
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        onFailure(e.message, e.error);
      };
      w.onmessageerror = () => onFailure("a message from the worker could not be read");
    },
    terminate: () => w.terminate(),
  };
}

/** A `node:worker_threads` Worker (for `resourceLimits`) running the module at `url`. */
export function threadWorker(url: URL, options: ThreadOptions = {}): WorkerPort {
  const w = new ThreadWorker(url, options);
  let terminated = false;
  return {
    post: (m, transfer) => w.postMessage(m, transfer as never),
    listen(onMessage, onFailure) {
      let failed = false;
      const fail = (message: string, cause?: unknown) => {
        if (failed || terminated) return;
        failed = true;
        onFailure(message, cause);
      };
      w.on("message", onMessage);
      w.on("error", (e: Error) => fail(e.message, e));
      w.on("exit", (code: number) => fail(`it exited with code ${code}`));
    },
    terminate() {
      terminated = true;
      void w.terminate();
    },
  };
}
