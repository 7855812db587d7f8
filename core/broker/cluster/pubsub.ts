import { headers, type NatsConnection, type Subscription } from "nats";
import type { ClusterNames } from "./names.ts";
import { untoken } from "./names.ts";

const ORIGIN_HEADER = "Sockkit-Server";

/** A published message that came from another server of the cluster. */
export interface ClusterPublication {
  /** Its message type. */
  type: string;
  /** The server it was published on. */
  server: string;
  /** The bytes it was published with. */
  payload: Uint8Array;
}

/**
 * Pub/sub across the servers of a cluster over core NATS (a subject per
 * message type): each server hands what its clients publish to the others,
 * and delivers what the others publish to its own subscribers. Live
 * subscribers only: a server holds its own subscribers' away queues.
 */
export class ClusterPubSub implements AsyncDisposable {
  readonly #nc: NatsConnection;
  readonly #names: ClusterNames;
  readonly #server: string;
  #sub: Subscription | undefined;

  constructor(nc: NatsConnection, names: ClusterNames, server: string) {
    this.#nc = nc;
    this.#names = names;
    this.#server = server;
  }

  /** Hands a message of type `type` published on this server to the other servers. */
  publish(type: string, payload: Uint8Array): void {
    const h = headers();
    h.set(ORIGIN_HEADER, this.#server);
    this.#nc.publish(this.#names.pubSubject(type), payload, { headers: h });
  }

  /** Resolves once what was published so far has reached nats-server. */
  flush(): Promise<void> {
    return this.#nc.flush();
  }

  /**
   * Calls `handler` with each message published on another server (only one
   * handler: a second call replaces it). Resolves once NATS has the
   * subscription.
   */
  async receive(handler: (p: ClusterPublication) => void): Promise<void> {
    this.#sub?.unsubscribe();
    const prefix = this.#names.pubSubject("");
    this.#sub = this.#nc.subscribe(this.#names.pubWildcard, {
      callback: (err, m) => {
        if (err) return;
        const server = m.headers?.get(ORIGIN_HEADER) ?? "";
        if (server === this.#server) return;
        handler({ type: untoken(m.subject.slice(prefix.length)), server, payload: m.data });
      },
    });
    await this.#nc.flush();
  }

  /** Stops receiving. Idempotent. */
  close(): Promise<void> {
    this.#sub?.unsubscribe();
    this.#sub = undefined;
    return Promise.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
