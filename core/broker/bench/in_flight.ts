/**
 * Calls `start(i)` for every `i` from 0 to `n - 1`, in order, keeping at
 * most `limit` of the promises it returns unsettled at once: each one that
 * settles starts the next. Resolves when all have settled. The first
 * rejection starts no more and rejects with that error (the ones already in
 * flight still run to their end). No allocation per call beyond the promise
 * `start` returns, so a bench's load loop can use it.
 *
 * @example
 * ```ts
 * // 50000 acknowledged sends, 4096 awaiting their acknowledgement at a time
 * await keepInFlight(50_000, 4096, () => client.send("server", "bench", data, { ack: true }));
 * ```
 */
export async function keepInFlight(
  n: number,
  limit: number,
  start: (i: number) => Promise<unknown>,
): Promise<void> {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`Invalid in-flight limit ${limit}: expected a whole number of at least 1`);
  }
  let next = 0;
  const lane = async () => {
    try {
      while (next < n) await start(next++);
    } catch (err) {
      next = n; // the other lanes start nothing more
      throw err;
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, Math.max(0, n)) }, lane));
}
