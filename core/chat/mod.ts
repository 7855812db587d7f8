/**
 * The servercli / clientcli service: a TLS line server that answers every
 * line reversed by grapheme cluster and broadcasts the date to all clients
 * each period (only while someone is connected), and the client session
 * logic that labels dates, replies and errors and knows when every reply
 * has arrived. Plain lines or `{"msg_type":...,"payload":...}` JSON lines.
 *
 * Shape: `server.ts` holds the clients (`server_options.ts`), answers each
 * one's lines in `_line_replies.ts` (`reverse.ts`, `message.ts`) and sends
 * the date on `broadcast_timer.ts`; `session.ts` and `client.ts` are the
 * client's side; `bench/` the many-clients benchmark.
 *
 * @module
 */
export * from "./reverse.ts";
export * from "./date.ts";
export * from "./message.ts";
export * from "./broadcast_timer.ts";
export * from "./server_options.ts";
export * from "./server.ts";
export * from "./session.ts";
export * from "./client.ts";
