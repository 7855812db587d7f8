import { LogBudget, type Logger } from "../log/mod.ts";
import type { Subscription } from "./api.ts";
import type { Sink } from "./options.ts";
import type { Router } from "./router.ts";
import { MAX_SUBSCRIBED_TYPES } from "./pubsub.ts";

const LISTEN_REFUSED = "local API listen refused";

/** One `listen` of an app connection: its sink, attached once per type it still covers. */
interface AppListen {
  tag: string | undefined;
  sink: Sink;
  subs: Map<string, Subscription>;
}

/** What an `unlisten` detached: each sink, with the types it no longer takes. */
export type Detached = Map<Sink, Set<string>>;

/**
 * The listens of one local API app connection, within its caps: at most
 * {@linkcode MAX_SUBSCRIBED_TYPES} types and as many listens (each listen
 * holds a sink of its own, even for a type listened to already with another
 * tag). `unlisten` frees what it removes, so the app may listen again.
 */
export class AppListens {
  readonly #router: Pick<Router, "attach">;
  readonly #log: Logger;
  readonly #listens: AppListen[] = [];
  /** How many listens cover each type. */
  readonly #types = new Map<string, number>();
  /**
   * Refused listens are logged 10 per 10 s: an app looping on a refused
   * listen cannot fill the log (the count left out is told at the end of the
   * window, or on close).
   */
  readonly #refusals: LogBudget;

  constructor(router: Pick<Router, "attach">, log: Logger) {
    this.#router = router;
    this.#log = log;
    this.#refusals = new LogBudget({
      onSummary: (notLogged) => log.warn(LISTEN_REFUSED, { not_logged: notLogged }),
    });
  }

  /** Attaches `sink` to `types` (queued messages first); throws RangeError past a cap, attaching none. */
  add(types: string[], tag: string | undefined, sink: Sink): void {
    const have = this.#types.size;
    const asked = new Set(types).difference(this.#types).size;
    if (have + asked > MAX_SUBSCRIBED_TYPES) {
      // refused whole: none of the frame's types is listened to
      this.#refused({ listening: have, asked: types.length, limit: MAX_SUBSCRIBED_TYPES });
      throw new RangeError(
        `Listen refused: one app connection may listen to at most ${MAX_SUBSCRIBED_TYPES} message types; this one listens to ${have} and asked for ${asked} more (listen to fewer types, or from another connection)`,
      );
    }
    const listens = this.#listens.length;
    if (listens >= MAX_SUBSCRIBED_TYPES) {
      this.#refused({ listens, limit: MAX_SUBSCRIBED_TYPES });
      throw new RangeError(
        `Listen refused: one app connection may hold at most ${MAX_SUBSCRIBED_TYPES} listens, and this one holds ${listens} (listen to several types in one listen, or from another connection)`,
      );
    }
    const subs = new Map<string, Subscription>();
    for (const t of new Set(types)) {
      subs.set(t, this.#router.attach([t], sink));
      this.#types.set(t, (this.#types.get(t) ?? 0) + 1);
    }
    this.#listens.push({ tag, sink, subs });
  }

  /**
   * Detaches the listens with this `tag` (none: the listens without one)
   * from `types`; a listen left with no type is gone, freeing its slot.
   * Types not listened to so are skipped. Returns what was detached.
   */
  remove(types: string[], tag: string | undefined): Detached {
    const detached: Detached = new Map();
    for (const l of this.#listens) {
      if (l.tag !== tag) continue;
      for (const t of types) {
        const sub = l.subs.get(t);
        if (!sub) continue;
        sub.close();
        l.subs.delete(t);
        this.#drop(t);
        let set = detached.get(l.sink);
        if (!set) detached.set(l.sink, set = new Set());
        set.add(t);
      }
    }
    for (let i = this.#listens.length - 1; i >= 0; i--) {
      if (this.#listens[i]!.subs.size === 0) this.#listens.splice(i, 1);
    }
    return detached;
  }

  /** Detaches every listen (the app went away) and tells the refusals left out of the log. Idempotent. */
  close(): void {
    this.#refusals.close();
    for (const l of this.#listens) for (const s of l.subs.values()) s.close();
    this.#listens.length = 0;
    this.#types.clear();
  }

  #refused(fields: Record<string, unknown>): void {
    const notLogged = this.#refusals.take();
    if (notLogged === undefined) return;
    this.#log.warn(LISTEN_REFUSED, {
      ...fields,
      ...(notLogged > 0 ? { not_logged: notLogged } : {}),
    });
  }

  #drop(type: string): void {
    const n = (this.#types.get(type) ?? 1) - 1;
    if (n === 0) this.#types.delete(type);
    else this.#types.set(type, n);
  }
}
