/** The peer broke the wire protocol (bad framing, malformed JSON, unknown header). */
export class ProtocolError extends Error {
  override name = "ProtocolError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** A frame, line, object or file exceeds its configured size limit. */
export class PayloadTooLargeError extends ProtocolError {
  override name = "PayloadTooLargeError";
  constructor(
    /** The size seen so far, in bytes. */
    readonly size: number,
    /** The configured limit, in bytes. */
    readonly limit: number,
    what = "Payload",
  ) {
    super(`${what} too large: ${size} bytes exceeds the ${limit} byte limit`);
  }
}
