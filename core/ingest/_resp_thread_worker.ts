/// <reference lib="deno.worker" />
/**
 * The worker side of {@linkcode ThreadedRespStore}: owns the {@linkcode RespStore}
 * (the Redis socket) on its own thread and event loop, and serves its calls
 * in the order they are made.
 */
import { serveWorker } from "../worker/mod.ts";
import { RespStore, type RespStoreOptions } from "./_resp_store.ts";
import type { StoreBatch } from "./_store.ts";

let store: RespStore | undefined;

function opened(): RespStore {
  if (!store) throw new Error("The Redis thread was not initialised");
  return store;
}

/** What the Redis thread does (see `ThreadedRespStore`). */
export const respThreadMethods = {
  init: ({ url, options }: { url: string; options: RespStoreOptions }) => {
    store = new RespStore(url, options);
  },
  connect: () => opened().connect(),
  write: (batch: StoreBatch) => opened().write(batch),
  applied: (marker: string) => opened().applied(marker),
  close: () => store?.close(),
};

serveWorker(respThreadMethods);
