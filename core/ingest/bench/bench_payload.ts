/** Object shapes the load generator sends. */
export const SHAPES = ["flat", "nested"] as const;
/** A payload shape: `flat` (one string value) or `nested` (one hash with 5 fields). */
export type Shape = typeof SHAPES[number];

/**
 * The JSON text of object `i` of client `client` in run `run`. Each object
 * has one top-level key `<run>:c<client>:<i>`, so the stored count is the
 * number of keys matching `<run>:*`.
 */
export function benchObject(run: string, client: number, i: number, shape: Shape): string {
  const key = `${run}:c${client}:${i}`;
  if (shape === "flat") return `{"${key}":"value-${i}-abcdefghijklmnopqrstuvwxyz"}`;
  return `{"${key}":{"name":"user-${i}","age":${i % 97},"score":${(i % 1000) / 8},` +
    `"tags":["red","blue"],"geo":{"lat":51.5,"lon":-0.12}}}`;
}

/** One chunk of a client's payload: bytes and how many objects end in it. */
export interface PayloadChunk {
  bytes: Uint8Array;
  /** Objects sent once this chunk is written (cumulative). */
  upTo: number;
}

/** Pre-encodes `count` objects into chunks of about `chunkBytes`, back to back. */
export function buildPayload(
  run: string,
  client: number,
  count: number,
  shape: Shape,
  chunkBytes = 32 * 1024,
): PayloadChunk[] {
  const enc = new TextEncoder();
  const out: PayloadChunk[] = [];
  let text = "";
  for (let i = 0; i < count; i++) {
    text += benchObject(run, client, i, shape);
    if (text.length >= chunkBytes || i === count - 1) {
      out.push({ bytes: enc.encode(text), upTo: i + 1 });
      text = "";
    }
  }
  return out;
}

/**
 * The Redis command one object of `shape` becomes, for redis-benchmark
 * (`__rand_int__` makes the keys distinct): the same-shape ceiling.
 */
export function shapeCommand(shape: Shape): string[] {
  return shape === "flat" ? ["set", "anchor:__rand_int__", "value-1-abcdefghijklmnopqrstuvwxyz"] : [
    "hset",
    "anchor:__rand_int__",
    "name",
    "user-1",
    "age",
    "42",
    "score",
    "1.5",
    "tags",
    '["red","blue"]',
    "geo",
    '{"lat":51.5,"lon":-0.12}',
  ];
}
