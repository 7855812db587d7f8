/**
 * What the server sends: the broadcast date, the reversed reply to a line
 * (`string`), or an error (full server, line too long, shutting down).
 */
export type MessageType = "date" | "string" | "error";

/** One server message. */
export interface ChatMessage {
  /** Which kind of message this is. */
  type: MessageType;
  /** The date, the reversed line, or the error text. */
  payload: string;
}

/** Prefix of an error line in plain mode. */
export const PLAIN_ERROR_PREFIX = "error: ";

const TYPES: ReadonlySet<string> = new Set<MessageType>(["date", "string", "error"]);

/**
 * Encodes a message as one `\n`-terminated line. Plain mode writes the
 * payload as is (errors prefixed with `error: `); JSON mode writes
 * `{"msg_type":"date"|"string"|"error","payload":"..."}`.
 *
 * @example
 * ```ts
 * encodeMessage({ type: "string", payload: "olleh" }, true); // '{"msg_type":"string","payload":"olleh"}\n'
 * ```
 */
export function encodeMessage(message: ChatMessage, json: boolean): string {
  if (json) return JSON.stringify({ msg_type: message.type, payload: message.payload }) + "\n";
  return (message.type === "error" ? PLAIN_ERROR_PREFIX : "") + message.payload + "\n";
}

/**
 * Parses a JSON-mode line (`{"msg_type":...,"payload":...}`). Returns
 * `undefined` when the line is not such a message, so callers can fall back
 * to plain mode.
 */
export function parseJsonMessage(line: string): ChatMessage | undefined {
  if (!line.startsWith("{")) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const { msg_type: type, payload } = value as Record<string, unknown>;
  if (typeof type !== "string" || !TYPES.has(type)) return undefined;
  return {
    type: type as MessageType,
    payload: typeof payload === "string" ? payload : JSON.stringify(payload) ?? "",
  };
}
