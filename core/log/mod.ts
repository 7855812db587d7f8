/**
 * Logging: a leveled logger that writes text or JSON lines to stderr or a
 * file, a budget for lines a peer can cause at will, peer text made safe
 * for a terminal, and the text of any thrown value. Library code takes
 * a {@linkcode Logger} in its options; only `cmd/` decides where lines go.
 *
 * @module
 */
export * from "./logger.ts";
export * from "./budget.ts";
export * from "./printable.ts";
export * from "./error_text.ts";
