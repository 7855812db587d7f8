import { ConfigError } from "../config/mod.ts";
import { JsonStreamFramer } from "../net/mod.ts";

/** `JSON.rawJSON` (V8, TC39 stage 3 "JSON.parse source text access"), not yet in TypeScript's lib. */
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/** Keeps a number's JSON text as written (`1.0`, `1e+20`, `2**64`): `JSON.stringify` gives it back unchanged. */
function exactNumber(_key: string, value: unknown, context?: { source?: string }): unknown {
  return typeof value === "number" && context?.source !== undefined
    ? rawJSON(context.source)
    : value;
}

/**
 * Reads the objects to send from JSON, concatenated JSON or NDJSON text
 * arriving in chunks (a file or standard input); a top-level array is
 * expanded into its elements. Numbers keep their text as written when the
 * objects are sent again with `JSON.stringify`. Malformed JSON, and input
 * that ends inside a value (a truncated object), is a
 * {@linkcode ConfigError} (the input is the user's to fix), thrown after the
 * complete values before it.
 *
 * @example
 * ```ts
 * for await (const obj of readObjects(Deno.stdin.readable)) console.log(obj);
 * ```
 */
export async function* readObjects(stream: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  const framer = new JsonStreamFramer({ maxValueBytes: 64 * 1024 * 1024 });
  const dec = new TextDecoder();
  const values: unknown[] = [];
  const take = (bytes: Uint8Array) => {
    const text = dec.decode(bytes);
    let v: unknown;
    try {
      v = JSON.parse(text, exactNumber);
    } catch (err) {
      throw new ConfigError(`Invalid JSON in input: ${(err as Error).message}`);
    }
    if (Array.isArray(v)) values.push(...v);
    else values.push(v);
  };
  for await (const chunk of stream) {
    framer.push(chunk, take);
    yield* values.splice(0);
  }
  const cut = framer.flush(take);
  yield* values.splice(0);
  if (cut > 0) {
    throw new ConfigError(
      `Invalid JSON in input: it ends inside a value (${cut} ${
        cut === 1 ? "byte" : "bytes"
      } of an incomplete object or array after the last complete one)`,
    );
  }
}
