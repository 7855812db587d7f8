import { ConfigError } from "../config/mod.ts";
import { JsonStreamFramer } from "../net/mod.ts";

/**
 * Reads the objects to send from JSON, concatenated JSON or NDJSON text
 * arriving in chunks (a file or standard input); a top-level array is
 * expanded into its elements. Malformed JSON is a {@linkcode ConfigError}
 * (the input is the user's to fix).
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
      v = JSON.parse(text);
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
  framer.flush(take);
  yield* values.splice(0);
}
