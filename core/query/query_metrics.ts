import type { DaemonMetrics } from "../metrics/mod.ts";
import type { Transport } from "./answerer.ts";
import type { HandlerResult } from "./handler_pool.ts";
import type { RepresentationByte } from "./wire.ts";

/** How a query ended, the `result` label. */
export type QueryOutcome = "ok" | "error" | "timeout";

/** Tells a handler timeout from other error results (the pool's time-limit message). */
export function outcomeOf(r: HandlerResult): QueryOutcome {
  if (r.ok) return "ok";
  return /did not answer within .* time limit/.test(r.error) ? "timeout" : "error";
}

/**
 * The query server's series: requests by transport, handler results and
 * their latency, handler errors and timeouts. `wrapSubmit` instruments the
 * handler pool's `submit`; `request` counts one request per transport.
 */
export function queryMetrics(m: DaemonMetrics) {
  const requests = m.counter("query_requests_total", "Requests received, by transport", [
    "transport",
  ]);
  const queries = m.counter("query_queries_total", "Handler runs, by result", ["result"]);
  const seconds = m.histogram("query_handler_seconds", "Time the handler took, by result", [
    "result",
  ]);
  const errors = m.counter("query_handler_errors_total", "Handler errors and timeouts", ["kind"]);
  let count = 0;
  return {
    /** Requests so far (frames in, and replies out: every request gets one). */
    count: () => count,
    request(transport: Transport): void {
      count++;
      requests.inc({ transport });
    },
    /** Instruments a handler pool's `submit`. */
    wrapSubmit(
      submit: (
        representation: RepresentationByte,
        payload: string,
        done: (r: HandlerResult) => void,
      ) => void,
    ): typeof submit {
      return (representation, payload, done) => {
        const t0 = performance.now();
        submit(representation, payload, (r) => {
          const result = outcomeOf(r);
          queries.inc({ result });
          seconds.observe({ result }, (performance.now() - t0) / 1000);
          if (result !== "ok") errors.inc({ kind: result });
          done(r);
        });
      };
    },
  };
}
