/**
 * Text from a peer made safe to show on a terminal: its control characters
 * are written as escapes, so a peer's chat line cannot end itself and start
 * a line that looks like ours (`\n* alice disconnected`), move the cursor or
 * erase what is on screen (`\x1b[2K`), set the window title or the
 * clipboard (OSC), or reorder what is shown (bidirectional overrides).
 */

/** C0 controls but tab, DEL, C1 controls, line and paragraph separators, bidi embeddings, overrides and isolates. */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const UNPRINTABLE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\x1b": "\\e" };

function escape(c: string): string {
  const code = c.charCodeAt(0);
  return NAMED[c] ??
    (code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16)}`);
}

/**
 * `text` with every control character shown as an escape (`\n`, `\r`, `\e`,
 * `\x07`, `\u202e`); tabs and all other characters as they are.
 *
 * @example
 * ```ts
 * printable("hi\x1b[2K\n* bob left"); // "hi\\e[2K\\n* bob left"
 * ```
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escape);
}
