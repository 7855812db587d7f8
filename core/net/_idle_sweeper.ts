/**
 * One timer for every connection's idle timeout: each watched connection is
 * checked every quarter of its timeout (at most once a second) and timed out
 * when its progress counter has not moved for the whole timeout while it was
 * not held by us. Nothing is done per received chunk or write.
 */
interface Watched {
  progress(): number;
  readonly heldByUs: boolean;
  timedOut(ms: number): void;
}

interface Entry {
  ms: number;
  last: number;
  since: number;
}

const watched = new Map<Watched, Entry>();
let timer: ReturnType<typeof setInterval> | undefined;
let tickMs = 1000;

function tick(): void {
  const now = Date.now();
  for (const [conn, e] of watched) {
    const p = conn.progress();
    if (p !== e.last || conn.heldByUs) {
      e.last = p;
      e.since = now;
    } else if (now - e.since >= e.ms) {
      watched.delete(conn);
      conn.timedOut(e.ms);
    }
  }
  if (watched.size === 0 && timer !== undefined) {
    clearInterval(timer);
    timer = undefined;
  }
}

/** Watches `conn` with an idle timeout of `ms`; returns the function that stops watching. */
export function watchIdle(conn: Watched, ms: number): () => void {
  watched.set(conn, { ms, last: conn.progress(), since: Date.now() });
  const want = Math.max(10, Math.min(1000, Math.floor(ms / 4)));
  if (timer === undefined || want < tickMs) {
    if (timer !== undefined) clearInterval(timer);
    tickMs = want;
    timer = setInterval(tick, tickMs);
    // Never keeps the process alive by itself: an open socket does that.
    Deno.unrefTimer(timer as unknown as number);
  }
  return () => {
    watched.delete(conn);
  };
}
