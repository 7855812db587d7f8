/** Messages between {@linkcode HandlerPool} and its handler workers. */
import type { RepresentationByte } from "./wire.ts";

/** One query inside a batch. */
export interface WorkerQuery {
  id: number;
  representation: RepresentationByte;
  payload: string;
}

/** One answer: the reply text, or an error message. */
export type WorkerReply = { id: number; text: string } | { id: number; error: string };

/** Main thread → handler worker. */
export type HandlerWorkerRequest =
  | { type: "init"; url: string }
  | { type: "data"; name: string; data: unknown }
  | { type: "lane"; memory: SharedArrayBuffer }
  | { type: "batch"; queries: WorkerQuery[] };

/**
 * Handler worker → main thread. `batchDone` marks the end of a batch's
 * synchronous run (replies of async handlers may follow in later messages).
 */
export type HandlerWorkerEvent =
  | { type: "ready" }
  | { type: "fatal"; error: string }
  | { type: "replies"; replies: WorkerReply[]; batchDone: boolean };
