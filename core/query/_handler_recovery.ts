/**
 * The pool's crash and time-limit policy, over one slot's state. When a
 * worker is still busy at a deadline it is terminated and replaced: a query
 * that was alone in its batch gets the time-limit error; the queries of a
 * larger batch run again, each alone, so the one that never returns is found
 * and the others are answered. After a crash, which query caused it is
 * unknown, so queries run again alone, and one that was already alone gets
 * the crash error.
 */
import type { HandlerSlot, Pending } from "./_handler_slot.ts";

/**
 * At a sweep: the queries of `slot` that get the time-limit error when its
 * worker is replaced, or `undefined` when none is late (keep the worker).
 */
export function lateQueries(slot: HandlerSlot, now: number): Set<Pending> | undefined {
  const late = [...slot.inFlight.values()].filter((p) => now > p.deadline);
  if (late.length === 0) return undefined;
  const stuckBatch = slot.busy ? slot.batch.filter((p) => slot.inFlight.has(p.id)) : [];
  // Some query of a larger batch never returned; run each again alone to find it.
  if (stuckBatch.length > 1) return new Set(late.filter((p) => p.retried));
  return new Set(late);
}

/**
 * After the worker of `slot` died or was restarted: empties the slot and
 * says which queries fail (`timedOut` when it was restarted at a deadline,
 * else those already run alone) and which run again (marked to run alone
 * when they were in flight).
 */
export function afterWorkerLoss(
  slot: HandlerSlot,
  timedOut: Set<Pending> | undefined,
): { failed: Pending[]; again: Pending[] } {
  const inFlight = new Set(slot.inFlight.values());
  const fails = timedOut ?? new Set([...inFlight].filter((p) => p.retried));
  const failed: Pending[] = [];
  const again: Pending[] = [];
  for (const p of slot.reset()) {
    if (fails.has(p)) failed.push(p);
    else {
      if (inFlight.has(p)) p.retried = true;
      again.push(p);
    }
  }
  return { failed, again };
}
