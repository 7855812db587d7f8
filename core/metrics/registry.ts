import client from "prom-client";

/** A counter with labels (prom-client's `Counter`). */
export type Counter<L extends string = string> = client.Counter<L>;
/** A gauge with labels (prom-client's `Gauge`). */
export type Gauge<L extends string = string> = client.Gauge<L>;
/** A histogram with labels (prom-client's `Histogram`). */
export type Histogram<L extends string = string> = client.Histogram<L>;

/** Latency buckets in seconds, 50 µs to 5 s: socket services answer in micro- to milliseconds. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.00005,
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
];

/**
 * The metrics of one daemon: a prom-client registry whose every series carries
 * `service="<name>"`, with helpers that declare counters, gauges and
 * histograms once. Names start with `sockkit_`. Counters and gauges can also
 * be read from a function at scrape time (like the Go client's `CounterFunc`),
 * so hot paths keep plain number fields and pay nothing per event.
 *
 * @example
 * ```ts
 * const m = new DaemonMetrics("search");
 * const queries = m.counter("search_queries_total", "Queries answered", ["result"]);
 * queries.inc({ result: "exists" });
 * await m.render(); // "# HELP sockkit_search_queries_total ..."
 * ```
 */
export class DaemonMetrics {
  /** The service name, the `service` label of every series. */
  readonly service: string;
  /** The prom-client registry (for anything the helpers do not cover). */
  readonly registry: client.Registry;

  constructor(service: string) {
    this.service = service;
    this.registry = new client.Registry();
    this.registry.setDefaultLabels({ service });
  }

  /** The `Content-Type` of {@linkcode DaemonMetrics.render}'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Declares a counter `sockkit_<name>`. */
  counter<L extends string = never>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
  ): Counter<L> {
    return new client.Counter<L>({
      ...this.#series(name, help, labelNames),
    });
  }

  /** Declares a gauge `sockkit_<name>`; with `read`, its value is read at each scrape. */
  gauge<L extends string = never>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
    read?: () => number,
  ): Gauge<L> {
    return new client.Gauge<L>({
      ...this.#series(name, help, labelNames),
      ...(read
        ? {
          collect(this: Gauge<L>) {
            this.set(read());
          },
        }
        : {}),
    });
  }

  /**
   * Declares a counter `sockkit_<name>` whose value is `read()` at each scrape
   * (a running total kept elsewhere as a plain number; it must never go down).
   */
  counterFrom(name: string, help: string, read: () => number): Counter {
    let seen = 0;
    return new client.Counter({
      ...this.#series(name, help, []),
      collect(this: Counter) {
        const now = read();
        if (now > seen) {
          this.inc(now - seen);
          seen = now;
        }
      },
    });
  }

  /**
   * Declares a labelled counter `sockkit_<name>` whose series are read at each
   * scrape: `read()` yields `[labels, running total]` pairs (totals never go down).
   */
  countersFrom<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: () => Iterable<[Partial<Record<L, string>>, number]>,
  ): Counter<L> {
    const seen = new Map<string, number>();
    return new client.Counter<L>({
      ...this.#series(name, help, labelNames),
      collect(this: Counter<L>) {
        for (const [labels, now] of read()) {
          const key = JSON.stringify(labelNames.map((l) => labels[l] ?? ""));
          const before = seen.get(key) ?? 0;
          if (now > before) {
            this.inc(labels, now - before);
            seen.set(key, now);
          }
        }
      },
    });
  }

  /** Declares a labelled gauge `sockkit_<name>` whose series are all read at each scrape. */
  gaugesFrom<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: () => Iterable<[Partial<Record<L, string>>, number]>,
  ): Gauge<L> {
    return new client.Gauge<L>({
      ...this.#series(name, help, labelNames),
      collect(this: Gauge<L>) {
        this.reset();
        for (const [labels, value] of read()) this.set(labels, value);
      },
    });
  }

  /** Declares a histogram `sockkit_<name>` (seconds; default {@linkcode LATENCY_BUCKETS}). */
  histogram<L extends string = never>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
    buckets: readonly number[] = LATENCY_BUCKETS,
  ): Histogram<L> {
    return new client.Histogram<L>({
      ...this.#series(name, help, labelNames),
      buckets: [...buckets],
    });
  }

  /** What every metric declared here shares: the `sockkit_` name, help, labels and this registry. */
  #series<L extends string>(name: string, help: string, labelNames: readonly L[]) {
    return { name: `sockkit_${name}`, help, labelNames, registers: [this.registry] };
  }

  /** Renders every series as Prometheus text (exposition format 0.0.4). */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
