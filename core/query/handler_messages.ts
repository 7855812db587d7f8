/** Messages between {@linkcode HandlerPool} and its handler workers. */
import type { RepresentationByte } from "./wire.ts";

/** One query inside a batch. */
export interface WorkerQuery {
  id: number;
  representation: RepresentationByte;
  payload: string;
}

/** The outcome of one query: the reply text, or an error message. */
export type HandlerResult = { ok: true; text: string } | { ok: false; error: string };

/** One answer: the reply text, or an error message. */
export type WorkerReply = { id: number; text: string } | { id: number; error: string };

/**
 * Handler worker → main thread, event "replies": replies that did not fit the
 * shared-memory lane, or an async handler's. `batchDone` marks the end of a
 * batch's synchronous run (replies of async handlers may follow in later
 * messages).
 */
export interface HandlerRepliesEvent {
  replies: WorkerReply[];
  batchDone: boolean;
}
