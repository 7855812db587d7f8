/**
 * The text of a thrown value for a message or a log line. Code can throw any
 * value, including ones `String()` itself throws on (`Object.create(null)`,
 * an object whose `toString` throws: a query handler, reader or transform
 * module can), and the message about it must still be made.
 */

/** `err`'s message (`name: message` when `named`), or a description of a value with no string form. */
export function errorText(err: unknown, named = false): string {
  try {
    if (err instanceof Error) return named ? `${err.name}: ${err.message}` : err.message;
    return String(err);
  } catch {
    return `a thrown value with no string form (${typeof err})`;
  }
}
