import type { MsgHeader } from "./frame.ts";

/** A message as delivered to a listener. */
export interface Message {
  /** Message type. */
  type: string;
  /** Sending connector. */
  src: string;
  /** Destination connector. */
  dst: string;
  /** Message id. */
  id: string;
  /** The request this answers, if any. */
  replyTo?: string | undefined;
  /** Decoded data: a string (text), a JSON value, or `undefined`. */
  data: unknown;
  /** Binary part (empty when none). */
  binary: Uint8Array;
  /** Set on requests: how long the sender waits for a reply, ms. */
  timeout?: number | undefined;
  /** The sender's tag, if any. */
  tag?: string | undefined;
  /**
   * `true` when this message may have been handed to an app before: an app
   * that got it went away or stopped listening without confirming it (see
   * the README's "at least once"), so an app that must not act twice checks
   * its id. `false` on a first delivery.
   */
  redelivered: boolean;
  /** The raw header. */
  header: MsgHeader;
}

/** Options for `send`. */
export interface SendOptions {
  /** Binary part. Default none. */
  binary?: Uint8Array;
  /** Resolve only once the peer connector has durably queued the message. Default `false`. */
  ack?: boolean;
  /** Mark this message as the answer to request `replyTo`. */
  replyTo?: string | undefined;
  /** Use this id instead of a generated one. */
  id?: string;
  /** A label passed through to the receiver (listeners may filter on it). */
  tag?: string;
}

/** Options for `listen`. */
export interface ListenOptions {
  /** Only messages carrying this tag (a filtered listener gets live messages only, never queued ones). */
  tag?: string;
}

/** Options for `request`. */
export interface RequestOptions {
  /** Binary part. Default none. */
  binary?: Uint8Array;
  /** How long to wait for the response, ms. Default 10000. */
  timeoutMs?: number;
}

/** What a receiver reports for a stored file or directory. */
export interface FileResult {
  /** Where the receiver stored it. */
  path: string;
  /** Total bytes. */
  bytes: number;
  /** Files in it (1 for a file). */
  files: number;
  /** Whether it was a directory. */
  dir: boolean;
}

/** A handle that stops a listener. */
export interface Subscription extends Disposable {
  /** Stops the listener at once; messages it has not taken stay queued for the next one. */
  close(): void;
}

/** The messaging face shared by the in-process `Connector` and the socket `BrokerClient`. */
export interface BrokerApi {
  /** Sends a message; resolves with its id (after the ack when `ack` is set). */
  send(dst: string, type: string, data?: unknown, options?: SendOptions): Promise<string>;
  /** Sends a request and resolves with the response message (rejects on timeout). */
  request(dst: string, type: string, data?: unknown, options?: RequestOptions): Promise<Message>;
  /** Calls `handler` for each message of `type` (queued ones first). */
  listen(
    type: string,
    handler: (msg: Message) => void,
    options?: ListenOptions,
  ): Subscription | Promise<Subscription>;
  /** Publishes a message of `type` to every client subscribed to it (through the server). */
  publish(type: string, data?: unknown, options?: SendOptions): Promise<string>;
  /** Subscribes this client connector to `types` at its server (kept by the server until unsubscribed). */
  subscribe(types: string[], options?: { unsubscribe?: boolean }): Promise<void>;
  /** Sends a file or a directory; resolves once the receiver stored it. */
  sendFile(dst: string, type: string, path: string, options?: SendFileOptions): Promise<FileResult>;
}

/** Options of {@linkcode BrokerApi.sendFile}. */
export interface SendFileOptions {
  /** Store it under this name at the receiver (a base name: no `/`). Default: the source's name. */
  name?: string;
  /** Remove the source file or directory once the receiver stored and checked it. Default `false`. */
  delete?: boolean;
  /** Give up waiting for the receiver after this long, ms. Default 600000. */
  timeoutMs?: number;
}
