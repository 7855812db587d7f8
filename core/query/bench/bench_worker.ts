/// <reference lib="deno.worker" />
/** Runs one benchmark load (see `bench_load.ts`) in its own thread. */
import { type LoadConfig, runLoad } from "./bench_load.ts";
import { errorText } from "../../log/mod.ts";

self.onmessage = async (e: MessageEvent<LoadConfig>) => {
  try {
    self.postMessage({ ok: true, result: await runLoad(e.data) });
  } catch (err) {
    self.postMessage({ ok: false, error: errorText(err) });
  }
};
