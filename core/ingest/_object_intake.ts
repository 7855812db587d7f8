import type { Layout } from "./layout.ts";
import { AsciiChunkDecoder } from "./_ascii_decode.ts";
import { encodeKvBytes, NOT_FAST } from "./_kv_bytes.ts";
import { LoneSurrogateError, type Members, splitMembers } from "./_kv_members.ts";
import { encodeKvMembers, encodeStream, type StreamEntryOptions } from "./_layout_encode.ts";
import type { BatchWriter, WriteOwner } from "./_writer.ts";

/** Options for {@linkcode ObjectIntake}. */
export interface ObjectIntakeOptions {
  /** Where accepted objects go. */
  writer: Pick<BatchWriter, "add">;
  /** Told what became of them (the connection's ledger). */
  owner: WriteOwner;
  /** Storage layout. */
  layout: Layout;
  /** Key prefix (kv layout). Default `""`. */
  keyPrefix?: string;
  /** Stream key, client identity and trimming (stream layout). */
  stream: StreamEntryOptions;
}

/**
 * A framed value that was not stored: `reject` (not an object; the connection
 * goes on) or `bad` (malformed JSON; the connection closes after storing
 * what came before).
 */
export type Refusal =
  | { kind: "reject"; reason: string; text: string }
  | { kind: "bad"; error: SyntaxError };

const OPEN_BRACE = 0x7b;

function kindOf(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

/**
 * Turns each framed JSON value of one connection into one
 * {@linkcode BatchWriter.add} of its commands, or a {@linkcode Refusal}. In
 * the `kv` layout a plain ASCII object goes from bytes to RESP directly
 * (`_kv_bytes.ts`); any other object is decoded (once per chunk for ASCII,
 * `_ascii_decode.ts`), split into its members as sent (`_kv_members.ts`) and
 * encoded; what the splitter refuses, `JSON.parse` names. In the `stream`
 * layout the JSON text is checked by `JSON.parse` and stored as sent.
 */
export class ObjectIntake {
  readonly #o: ObjectIntakeOptions;
  readonly #text = new AsciiChunkDecoder();
  readonly #prefix: string;
  readonly #prefixBytes: Uint8Array;
  readonly #prefixAscii: boolean;

  constructor(options: ObjectIntakeOptions) {
    this.#o = options;
    this.#prefix = options.keyPrefix ?? "";
    this.#prefixBytes = new TextEncoder().encode(this.#prefix);
    this.#prefixAscii = this.#prefixBytes.length === this.#prefix.length;
  }

  /** The values to take next are framed from `chunk` (see {@linkcode AsciiChunkDecoder}). */
  begin(chunk: Uint8Array): void {
    this.#text.begin(chunk);
  }

  /** The chunk is done with. */
  end(): void {
    this.#text.end();
  }

  /** Adds one framed value's commands to the writer; returns why not when it cannot. */
  take(bytes: Uint8Array): Refusal | undefined {
    const { writer, owner, layout } = this.#o;
    const kvObject = layout === "kv" && bytes[0] === OPEN_BRACE;
    if (kvObject) {
      const prefix = this.#prefixBytes;
      const n = writer.add(owner, (out, { wrap }) => encodeKvBytes(bytes, out, { prefix, wrap }));
      if (n !== NOT_FAST) return undefined;
    }
    let text: string;
    let value: unknown;
    let members: Members | undefined;
    try {
      text = this.#text.decode(bytes);
    } catch {
      const error = new SyntaxError(
        "Malformed JSON: the value is not valid UTF-8 (JSON text must be UTF-8, as json.dumps(d).encode() sends it)",
      );
      return { kind: "bad", error };
    }
    try {
      // kv: one pass over the bytes keeps every value's JSON text as sent (see splitMembers).
      if (kvObject) members = splitMembers(text, bytes, this.#text.ascii);
      // Not a well-formed object for kv (or the stream layout): JSON.parse checks it and names the error.
      if (members === undefined) value = JSON.parse(text);
    } catch (err) {
      if (err instanceof LoneSurrogateError) {
        return { kind: "reject", reason: err.message, text };
      }
      return { kind: "bad", error: new SyntaxError(`Malformed JSON: ${(err as Error).message}`) };
    }
    if (members !== undefined) {
      const prefix = this.#prefix;
      const ascii = this.#text.ascii && this.#prefixAscii && !text.includes("\\u");
      writer.add(owner, (out, { wrap }) => encodeKvMembers(members, out, { prefix, ascii, wrap }));
      return undefined;
    }
    if (bytes[0] !== OPEN_BRACE || value === null || typeof value !== "object") {
      return { kind: "reject", reason: `not a JSON object: got ${kindOf(value)}`, text };
    }
    if (layout === "kv") {
      // JSON.parse took what the scanner refused: never store a re-serialized value.
      const error = new SyntaxError(
        "Malformed JSON: the object could not be split into its members",
      );
      return { kind: "bad", error };
    }
    const stream = this.#o.stream;
    writer.add(owner, (out) => encodeStream(text, out, stream));
    return undefined;
  }
}
