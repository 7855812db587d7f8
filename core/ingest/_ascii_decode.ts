/**
 * The text of the JSON values framed from one received chunk, decoded once
 * per chunk instead of once per value: when the chunk is pure ASCII (byte i
 * is character i), every value framed from it is a substring of the chunk's
 * text. Values from anywhere else (a value that spans chunks lives in the
 * framer's own buffer) or from a chunk that is not ASCII are decoded on their
 * own as strict UTF-8.
 *
 * @example
 * ```ts
 * const d = new AsciiChunkDecoder();
 * d.begin(chunk);
 * framer.push(chunk, (bytes) => use(d.decode(bytes), d.ascii));
 * d.end();
 * ```
 */
export class AsciiChunkDecoder {
  readonly #strict = new TextDecoder("utf-8", { fatal: true });
  readonly #loose = new TextDecoder("utf-8");
  #chunk: Uint8Array | undefined;
  /** The chunk's text, decoded when a value from it first needs it. */
  #text: string | undefined;
  #chunkAscii = false;
  #ascii = false;

  /** Values to decode come from `chunk` (until {@linkcode AsciiChunkDecoder.end}). */
  begin(chunk: Uint8Array): void {
    this.#chunk = chunk;
    this.#text = undefined;
    this.#chunkAscii = false;
  }

  /** The chunk is done with; drops it and its text. */
  end(): void {
    this.#chunk = undefined;
    this.#text = undefined;
  }

  /** Whether the last decoded value was pure ASCII (its character indexes are its byte indexes). */
  get ascii(): boolean {
    return this.#ascii;
  }

  /**
   * The text of `bytes`. Throws `TypeError` when they are not valid UTF-8.
   */
  decode(bytes: Uint8Array): string {
    const c = this.#chunk;
    const off = c && bytes.buffer === c.buffer ? bytes.byteOffset - c.byteOffset : -1;
    const inChunk = c !== undefined && off >= 0 && off + bytes.length <= c.length;
    if (inChunk && this.#text === undefined) {
      const t = this.#loose.decode(c);
      this.#text = t;
      this.#chunkAscii = t.length === c.length && !t.includes("\uFFFD");
    }
    if (inChunk && this.#chunkAscii) {
      this.#ascii = true;
      return this.#text!.substring(off, off + bytes.length);
    }
    const text = this.#strict.decode(bytes);
    this.#ascii = text.length === bytes.length;
    return text;
  }
}
