/**
 * The ratios the query bench prints: each plain UDP case (sockkit's, and
 * each runtime ceiling's) over the Python anchor at the same level in
 * flight, and sockkit over the ceiling with its own UDP socket, which is
 * what isolating the handler leaves of the runtime's ceiling.
 */
import type { DatagramBackend } from "../../net/mod.ts";

/** One measured case. */
export interface QueryBenchCase {
  /**
   * `"udp plain"`, `"tcp encrypted"`, `"python socketserver (anchor)"`,
   * `"runtime ceiling: no handler isolation (Deno.listenDatagram)"`.
   */
  name: string;
  /** Queries in flight. */
  inFlight: number;
  /** Whether this is the Python anchor. */
  anchor: boolean;
  /** Whether this is a runtime ceiling case (no handler isolation). */
  ceiling: boolean;
  /** UDP socket of the server measured (sockkit's or a ceiling's); none for the anchor and TCP. */
  backend?: DatagramBackend;
  transport: "udp" | "tcp";
  encrypted: boolean;
  /** Answered queries. */
  queries: number;
  /** Error replies, timeouts and wrong answers. */
  errors: number;
  /** Answered queries per second. */
  qps: number;
  p50Ms: number;
  p99Ms: number;
}

/** The Python anchor measured at a case's level in flight, for plain UDP cases. */
export function anchorOf(cases: QueryBenchCase[], c: QueryBenchCase): QueryBenchCase | undefined {
  if (c.anchor || c.transport !== "udp" || c.encrypted) return undefined;
  return cases.find((a) => a.anchor && a.inFlight === c.inFlight);
}

/**
 * The runtime ceiling with the same UDP socket at the same level in flight,
 * for sockkit's plain UDP cases.
 */
export function ceilingOf(cases: QueryBenchCase[], c: QueryBenchCase): QueryBenchCase | undefined {
  if (c.anchor || c.ceiling || c.transport !== "udp" || c.encrypted) return undefined;
  return cases.find((x) => x.ceiling && x.backend === c.backend && x.inFlight === c.inFlight);
}

/** One case's queries/s over another's at the same level in flight. */
export interface BenchRatio {
  /** The case's name (`"udp plain"` or a ceiling). */
  name: string;
  /** What it is compared with (the anchor's or the ceiling's name). */
  over: string;
  /** Whether the case is a runtime ceiling. */
  ceiling: boolean;
  inFlight: number;
  ratio: number;
}

function ratios(
  cases: QueryBenchCase[],
  against: (cases: QueryBenchCase[], c: QueryBenchCase) => QueryBenchCase | undefined,
): BenchRatio[] {
  return cases.flatMap((c) => {
    const a = against(cases, c);
    return a
      ? [{
        name: c.name,
        over: a.name,
        ceiling: c.ceiling,
        inFlight: c.inFlight,
        ratio: c.qps / a.qps,
      }]
      : [];
  });
}

/**
 * sockkit's plain UDP queries/s, and each ceiling's, over the anchor's, at
 * each number in flight (in the order the cases ran).
 */
export function anchorRatios(cases: QueryBenchCase[]): BenchRatio[] {
  return ratios(cases, anchorOf);
}

/** sockkit's plain UDP queries/s over the ceiling's with the same socket, at each number in flight. */
export function ceilingRatios(cases: QueryBenchCase[]): BenchRatio[] {
  return ratios(cases, ceilingOf);
}
