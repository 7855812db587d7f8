import {
  type LogCursor,
  parseLegacyRecords,
  RecordLog,
  type RecordLogOptions,
  removeAtomicLeftoversSync,
  StorageFullError,
  writeFileAtomic,
} from "../storage/mod.ts";
import { BrokerError } from "./errors.ts";
import { fileNameOf } from "./_file_names.ts";

/** What `DIR/TYPE.handed` holds: at the last graceful close, the first `count` records from `front` had been handed out. */
interface HandedFile {
  front: LogCursor;
  count: number;
}

/** Options for {@linkcode TypeQueues}. */
export interface TypeQueuesOptions extends Omit<RecordLogOptions, "name"> {
  /** Most message types with messages queued at once; a message of one more type is refused. Default 256. */
  maxTypes?: number;
  /**
   * Most of those places one sender may hold: the types whose queue its
   * message started (went from empty to holding messages), so one peer
   * cannot take every place and have the messages of all others refused.
   * Default {@linkcode MAX_QUEUED_TYPES_PER_SENDER}.
   */
  maxTypesPerSender?: number;
}

/** Default {@linkcode TypeQueuesOptions.maxTypesPerSender}: a quarter of the default 256. */
export const MAX_QUEUED_TYPES_PER_SENDER = 64;

/**
 * Per-message-type receive queues on disk (one record log each, in
 * `DIR/TYPE/`): a message whose type has no listener is appended to its
 * type's queue and leaves it only once a listener has taken it.
 */
export class TypeQueues implements AsyncDisposable {
  readonly #dir: string;
  readonly #opts: TypeQueuesOptions;
  readonly #maxTypes: number;
  readonly #maxPerSender: number;
  /** Per type, the sender whose message started its queue in this run (none: before the start, or given back). */
  readonly #startedBy = new Map<string, string>();
  readonly #queues = new Map<string, RecordLog>();
  /** Per type, the records at the front of its queue that were handed out before the last graceful close. */
  readonly #handed = new Map<string, number>();
  #closing: Promise<void> | undefined;

  constructor(dir: string, opts: TypeQueuesOptions) {
    this.#dir = dir;
    this.#opts = opts;
    this.#maxTypes = opts.maxTypes ?? 256;
    this.#maxPerSender = opts.maxTypesPerSender ?? MAX_QUEUED_TYPES_PER_SENDER;
    // a crash between writing a .handed file and renaming it left its temporary file (TYPE.handed.tmp: an earlier version)
    removeAtomicLeftoversSync(dir, (target) => target.endsWith(".handed"), { legacy: true });
    const handed: string[] = [];
    try {
      for (const e of Deno.readDirSync(dir)) {
        // the directory as found: one made before dots were encoded keeps its name
        if (e.isDirectory) this.#open(decodeURIComponent(e.name), `${dir}/${e.name}`);
        else if (e.isFile && e.name.endsWith(".handed")) handed.push(e.name);
        else if (e.isFile && e.name.endsWith(".queue")) {
          // The older single-file format: move its records into the log.
          const type = decodeURIComponent(e.name.slice(0, -".queue".length));
          const q = this.#open(type);
          const file = `${dir}/${e.name}`;
          for (const p of parseLegacyRecords(Deno.readFileSync(file)).payloads) {
            q.append(p.slice(), { force: true });
          }
          q.flush().then(() => Deno.remove(file)).catch(() => {});
        }
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    for (const name of handed) this.#readHanded(name);
  }

  /**
   * Takes in `DIR/TYPE.handed` (read once, then removed): it counts only
   * when the queue starts where it did at that close (otherwise, after a
   * crash since, nothing is known of what was handed out).
   */
  #readHanded(name: string): void {
    const file = `${this.#dir}/${name}`;
    try {
      const type = decodeURIComponent(name.slice(0, -".handed".length));
      const h = JSON.parse(Deno.readTextFileSync(file)) as HandedFile;
      const start = this.#queues.get(type)?.start;
      if (
        start && h.front?.segment === start.segment && h.front.offset === start.offset &&
        Number.isSafeInteger(h.count) && h.count > 0
      ) {
        this.#handed.set(type, h.count);
      }
    } catch { /* unreadable: nothing known */ }
    try {
      Deno.removeSync(file);
    } catch { /* gone */ }
  }

  /**
   * How many records at the front of `type`'s queue had been handed out
   * when the connector last closed gracefully (0 when none or not known).
   */
  handedOut(type: string): number {
    return this.#handed.get(type) ?? 0;
  }

  #open(type: string, path = `${this.#dir}/${fileNameOf(type, { dots: true })}`): RecordLog {
    let q = this.#queues.get(type);
    if (!q) {
      const { maxTypes: _, maxTypesPerSender: _s, ...logOpts } = this.#opts;
      q = RecordLog.openSync(path, {
        ...logOpts,
        name: `queue of type "${type}"`,
      });
      this.#queues.set(type, q);
    }
    return q;
  }

  /**
   * Types whose queue holds messages (on disk or being written): the ones the
   * type cap counts. A queue drained to empty frees its place, so types seen
   * once and taken by their listeners do not use up the cap for good.
   */
  #holding(): number {
    let n = 0;
    for (const q of this.#queues.values()) if (q.count > 0) n++;
    return n;
  }

  /** The queue of `type`, if it has one. */
  get(type: string): RecordLog | undefined {
    return this.#queues.get(type);
  }

  /** Messages queued for `type`. */
  count(type: string): number {
    return this.#queues.get(type)?.count ?? 0;
  }

  /** Types holding messages whose queue a message of `sender` started. */
  #startedByCount(sender: string): number {
    let n = 0;
    for (const [type, by] of this.#startedBy) {
      if (by === sender && this.count(type) > 0) n++;
    }
    return n;
  }

  /**
   * Appends a raw frame payload to the queue of `type`; resolves once it is
   * on disk. Throws `BrokerError` at once when the queue is full or there are
   * too many queued types, in all or started by `sender` (the message is not
   * stored). Without `sender` (a message given back) only the total counts.
   */
  push(type: string, payload: Uint8Array, sender?: string): Promise<void> {
    if (this.#closing) {
      throw new BrokerError(`Cannot queue a message of type "${type}": the connector is closing`);
    }
    const starts = !this.#queues.get(type)?.count;
    if (starts && this.#holding() >= this.#maxTypes) {
      throw new BrokerError(
        `Cannot queue a message of type "${type}": ${this.#maxTypes} message types are queued already (attach listeners to drain them)`,
      );
    }
    if (starts && sender !== undefined) {
      const mine = this.#startedByCount(sender);
      if (mine >= this.#maxPerSender) {
        throw new BrokerError(
          `Cannot queue a message of type "${type}" from "${sender}": messages of "${sender}" started the queues of ${mine} message types that nobody has taken yet, the most one sender may (${this.#maxPerSender} of the ${this.#maxTypes} places; attach listeners to drain them, or check the types it sends)`,
        );
      }
    }
    try {
      const stored = this.#open(type).append(payload.slice());
      if (starts) {
        if (sender !== undefined) this.#startedBy.set(type, sender);
        else this.#startedBy.delete(type);
      }
      return stored;
    } catch (err) {
      if (err instanceof StorageFullError) {
        throw new BrokerError(
          `Queue of type "${type}" is full: ${
            err.message.replace(/^The queue of type "[^"]*" is full: /, "")
          } (--persist-max); attach a listener or raise --persist-max`,
          { cause: err },
        );
      }
      throw err;
    }
  }

  /** Resolves once every queue's appends are on disk. */
  async flush(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.flush()));
  }

  /** Sizes per type (messages and bytes). */
  sizes(): Array<{ type: string; messages: number; bytes: number }> {
    return [...this.#queues].map(([type, q]) => ({ type, messages: q.count, bytes: q.bytes }));
  }

  /**
   * Writes what is pending and closes every queue. `handed` gives, per type,
   * how many records at the front of its queue were handed out (kept in
   * `DIR/TYPE.handed` for {@linkcode handedOut} after a restart). Idempotent.
   */
  close(handed: (type: string) => number = () => 0): Promise<void> {
    this.#closing ??= Promise.all(
      [...this.#queues].map(async ([type, q]) => {
        await q.close();
        const count = Math.min(handed(type), q.count);
        if (count <= 0) return;
        const h: HandedFile = { front: q.start, count };
        const file = `${this.#dir}/${fileNameOf(type, { dots: true })}.handed`;
        // not durable, errors swallowed: lost, those come unmarked after the restart
        await writeFileAtomic(file, JSON.stringify(h)).catch(() => {});
      }),
    ).then(() => {});
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
