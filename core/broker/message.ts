import { decodeData, type MsgHeader } from "./frame.ts";
import type { Message } from "./api.ts";
import { copyBytes } from "./_copy.ts";

/** A delivered message; `data` is decoded on first use. */
export class InMessage implements Message {
  readonly type: string;
  readonly src: string;
  readonly dst: string;
  readonly id: string;
  readonly binary: Uint8Array;
  readonly header: MsgHeader;
  #raw: Uint8Array | undefined;
  #data: unknown;
  constructor(h: MsgHeader, data: Uint8Array, binary: Uint8Array) {
    this.type = h.type;
    this.src = h.src;
    this.dst = h.dst;
    this.id = h.id;
    this.header = h;
    this.binary = copyBytes(binary);
    this.#raw = copyBytes(data);
  }
  get replyTo(): string | undefined {
    return this.header.replyTo;
  }
  get tag(): string | undefined {
    return this.header.tag;
  }
  get redelivered(): boolean {
    return this.header.redelivered === true;
  }
  get timeout(): number | undefined {
    return this.header.timeout;
  }
  get data(): unknown {
    if (this.#raw !== undefined) {
      this.#data = decodeData(this.#raw, this.header.enc);
      this.#raw = undefined;
    }
    return this.#data;
  }
  toJSON(): Record<string, unknown> {
    return { type: this.type, src: this.src, dst: this.dst, id: this.id, data: this.data };
  }
}

export function toMessage(h: MsgHeader, data: Uint8Array, binary: Uint8Array): Message {
  return new InMessage(h, data, binary);
}
