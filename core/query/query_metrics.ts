import type { DropReason } from "./_udp_guard.ts";
import type { DaemonMetrics } from "../metrics/mod.ts";
import type { Transport } from "./answerer.ts";
import type { HandlerResult } from "./handler_messages.ts";
import type { RepresentationByte } from "./wire.ts";

/** How a query ended, the `result` label. */
export type QueryOutcome = "ok" | "error" | "timeout";

/** Tells a handler timeout from other error results (the pool's time-limit message). */
export function outcomeOf(r: HandlerResult): QueryOutcome {
  if (r.ok) return "ok";
  return /did not answer within .* time limit/.test(r.error) ? "timeout" : "error";
}

/**
 * Running totals by the value of one label, registered as counter `name`
 * and read by the registry at each scrape.
 */
class Tally<L extends string, V extends string> {
  readonly #label: L;
  readonly #counts = new Map<V, number>();
  constructor(m: DaemonMetrics, name: string, help: string, label: L) {
    this.#label = label;
    m.countersFrom(name, help, [label], () => this.#series());
  }
  add(value: V): void {
    this.#counts.set(value, (this.#counts.get(value) ?? 0) + 1);
  }
  *#series(): Iterable<[Partial<Record<L, string>>, number]> {
    for (const [value, n] of this.#counts) {
      const labels: Partial<Record<L, string>> = {};
      labels[this.#label] = value;
      yield [labels, n];
    }
  }
}

/**
 * The query server's series: requests by transport, handler results and
 * their latency, handler errors and timeouts. `wrapSubmit` instruments the
 * handler pool's `submit`; `request` counts one request per transport. The
 * counters are plain totals read at each scrape (a labelled `inc` per query
 * cost more than the rest of a lookup's main-thread work); the latency
 * histogram is observed per query through one child per result.
 */
export function queryMetrics(m: DaemonMetrics) {
  const requests = new Tally<"transport", Transport>(
    m,
    "query_requests_total",
    "Requests received, by transport",
    "transport",
  );
  const queries = new Tally<"result", QueryOutcome>(
    m,
    "query_queries_total",
    "Handler runs, by result",
    "result",
  );
  const errors = new Tally<"kind", Exclude<QueryOutcome, "ok">>(
    m,
    "query_handler_errors_total",
    "Handler errors and timeouts",
    "kind",
  );
  const histogram = m.histogram("query_handler_seconds", "Time the handler took, by result", [
    "result",
  ]);
  const seconds = {
    ok: histogram.labels({ result: "ok" }),
    error: histogram.labels({ result: "error" }),
    timeout: histogram.labels({ result: "timeout" }),
  };
  const dropped = new Tally<"reason", DropReason>(
    m,
    "query_udp_dropped_total",
    "UDP datagrams left unanswered, by reason",
    "reason",
  );
  let count = 0;
  return {
    /** Counts a UDP datagram left unanswered. */
    dropped(reason: DropReason): void {
      dropped.add(reason);
    },
    /** Requests so far (frames in, and replies out). */
    count: () => count,
    request(transport: Transport): void {
      count++;
      requests.add(transport);
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
          queries.add(result);
          seconds[result].observe((performance.now() - t0) / 1000);
          if (result !== "ok") errors.add(result);
          done(r);
        });
      };
    },
  };
}
