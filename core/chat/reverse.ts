const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** ASCII without CR or LF: every character is its own grapheme cluster. */
// deno-lint-ignore no-control-regex -- ASCII control characters are part of the fast-path set
const SIMPLE = /^[\x00-\x09\x0b\x0c\x0e-\x7f]*$/;

/**
 * Reverses `text` by grapheme cluster (`Intl.Segmenter`), after removing
 * trailing whitespace. Emoji ZWJ sequences, flags, skin-tone modifiers,
 * combining marks and `\r\n` pairs are user-perceived characters and stay
 * intact; only their order changes. Leading whitespace is kept (it ends up
 * at the end).
 *
 * @example
 * ```ts
 * reverseLine("hello  "); // "olleh"
 * reverseLine("e\u0301a"); // "ae\u0301" (é stays é)
 * ```
 */
export function reverseLine(text: string): string {
  const trimmed = text.trimEnd();
  if (SIMPLE.test(trimmed)) {
    // One flat string: appending a character at a time built a rope of one-character pieces,
    // about 32 bytes of heap per character for a reply waiting in a client's queue.
    return trimmed.split("").reverse().join("");
  }
  const parts: string[] = [];
  for (const { segment } of graphemes.segment(trimmed)) parts.push(segment);
  return parts.reverse().join("");
}
