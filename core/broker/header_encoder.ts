import type { Header } from "./frame.ts";

const enc = new TextEncoder();

/**
 * Encodes the frame headers of one link as UTF-8 JSON. Messages from one
 * connector mostly repeat the previous header but for the message id, so
 * the JSON of the last message header of flat fields is kept split around
 * its id: a header with the same fields in the same order, equal but for a
 * plain id (printable ASCII, no quote or backslash), is written as that
 * JSON with the new id (the same bytes `JSON.stringify` gives, without it).
 *
 * Use: {@linkcode HeaderEncoder.prepare} a header, make room for
 * {@linkcode HeaderEncoder.maxBytes}, then {@linkcode HeaderEncoder.writeInto}.
 */
export class HeaderEncoder {
  /** The cached header: its field names in order, its fields, its JSON before and after the id. */
  #keys: string[] = [];
  #fields: Record<string, unknown> = {};
  #before = new Uint8Array(0);
  #after = new Uint8Array(0);
  /** The prepared header: its id when it matches the cached one, else its JSON. */
  #id: string | undefined;
  #json = "";

  /** Takes the next header to write. */
  prepare(header: Header): void {
    if (header.kind === "msg" && this.#matches(header as unknown as Record<string, unknown>)) {
      this.#id = header.id;
      return;
    }
    this.#id = undefined;
    this.#json = JSON.stringify(header);
    if (header.kind === "msg") this.#remember(header as unknown as Record<string, unknown>);
  }

  /** At most the bytes the prepared header takes. */
  get maxBytes(): number {
    return this.#id !== undefined
      ? this.#before.length + this.#id.length + this.#after.length
      : this.#json.length * 3;
  }

  /** Writes the prepared header at `at` (room for `maxBytes` made); returns the bytes written. */
  writeInto(buf: Uint8Array, at: number): number {
    const id = this.#id;
    if (id === undefined) return enc.encodeInto(this.#json, buf.subarray(at)).written;
    buf.set(this.#before, at);
    let p = at + this.#before.length;
    for (let i = 0; i < id.length; i++) buf[p++] = id.charCodeAt(i);
    buf.set(this.#after, p);
    return p + this.#after.length - at;
  }

  #matches(h: Record<string, unknown>): boolean {
    const keys = this.#keys;
    if (keys.length === 0) return false;
    let i = 0;
    for (const k in h) {
      if (keys[i++] !== k) return false;
      if (k !== "id" && h[k] !== this.#fields[k]) return false;
    }
    return i === keys.length && plainId(h.id);
  }

  /** Keeps the JSON of a message header of flat fields and a plain id, split around the id. */
  #remember(h: Record<string, unknown>): void {
    this.#keys = [];
    const keys: string[] = [];
    for (const k in h) {
      const v = h[k];
      if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") return;
      keys.push(k);
    }
    const id = h.id;
    if (!plainId(id)) return;
    // A raw quote cannot be inside a JSON string, so this is the id field.
    const mark = `"id":"${id}"`;
    const at = this.#json.indexOf(mark);
    if (at < 0 || this.#json.indexOf(mark, at + 1) >= 0) return;
    this.#before = enc.encode(this.#json.slice(0, at + 6));
    this.#after = enc.encode(this.#json.slice(at + 6 + id.length));
    this.#fields = { ...h };
    this.#keys = keys;
  }
}

/** Whether `id` is a string of printable ASCII without quote or backslash (JSON writes it as is). */
function plainId(id: unknown): id is string {
  if (typeof id !== "string") return false;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}
