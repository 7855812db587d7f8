import type { DemoStep } from "./context.ts";
import { certsDemo } from "./certs_step.ts";
import { demo as ingestDemo } from "../ingest/demo.ts";
import { demo as servercliDemo } from "../chat/demo.ts";
import { demo as searchDemo } from "../search/demo.ts";
import { demo as queryDemo } from "../query/demo.ts";
import { demo as brokerDemo } from "../broker/demo.ts";

/**
 * The demo steps in the order `sockkit demo` runs them. Each service adds
 * one line: `{ name: "<svc>", run: demo }` with `demo` from `core/<svc>/demo.ts`.
 */
export const DEMO_STEPS: DemoStep[] = [
  { name: "certs", run: certsDemo },
  { name: "ingest", run: ingestDemo },
  { name: "servercli", run: servercliDemo },
  { name: "search", run: searchDemo },
  { name: "query", run: queryDemo },
  { name: "broker", run: brokerDemo },
];
