/** Messages between {@linkcode HandlerPool} and its handler workers. */
import type { RepresentationByte } from "./wire.ts";

/** Main thread → handler worker. */
export type HandlerWorkerRequest =
  | { type: "init"; url: string }
  | { type: "data"; name: string; data: unknown }
  | { type: "query"; id: number; representation: RepresentationByte; payload: string };

/** Handler worker → main thread. */
export type HandlerWorkerEvent =
  | { type: "ready" }
  | { type: "fatal"; error: string }
  | { type: "reply"; id: number; text: string }
  | { type: "error"; id: number; error: string };
