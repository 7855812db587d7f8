/** Messages between `runLoad` and its load workers. */
import type { ClientTlsOptions } from "../net/mod.ts";

/** Start a load run. */
export interface LoadRequest {
  host: string;
  port: number;
  tls?: ClientTlsOptions;
  connections: number;
  durationMs: number;
  queries: string[];
  timeoutMs: number;
  pipeline: number;
}

/** The outcome of one worker's share. */
export interface LoadReply {
  latencies: Float64Array;
  errors: number;
  timeouts: number;
  firstError?: string;
  elapsedMs: number;
}
