/// <reference lib="deno.worker" />
/**
 * The worker side of {@linkcode ThreadedRespStore}: owns the {@linkcode RespStore}
 * (the Redis socket) on its own thread and event loop. Requests arrive as
 * `ThreadRequest` messages and are answered, in order, with `ThreadReply`.
 */
import { RespStore } from "./resp_store.ts";
import type { ThreadReply, ThreadRequest } from "./resp_thread.ts";
import { StoreUnavailableError } from "./store.ts";

let store: RespStore | undefined;

function reply(id: number, p: Promise<unknown>): void {
  p.then(
    (value) => self.postMessage({ id, ok: true, value } satisfies ThreadReply),
    (err) =>
      self.postMessage(
        {
          id,
          ok: false,
          unavailable: err instanceof StoreUnavailableError,
          message: err instanceof Error ? err.message : String(err),
        } satisfies ThreadReply,
      ),
  );
}

self.onmessage = (e: MessageEvent<ThreadRequest>) => {
  const m = e.data;
  switch (m.op) {
    case "init":
      store = new RespStore(m.url, m.options);
      return;
    case "connect":
      return reply(m.id, store!.connect());
    case "write":
      return reply(m.id, store!.write(m.batch));
    case "applied":
      return reply(m.id, store!.applied(m.marker));
    case "close":
      return reply(m.id, store ? store.close() : Promise.resolve());
  }
};
