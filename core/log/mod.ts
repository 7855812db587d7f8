/**
 * Logging: a leveled logger that writes text or JSON lines to stderr or a
 * file. Library code takes a {@linkcode Logger} in its options; only `cmd/`
 * decides where lines go.
 *
 * @module
 */
export * from "./logger.ts";
