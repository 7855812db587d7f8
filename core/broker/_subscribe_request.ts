import type { Logger } from "../log/mod.ts";
import { BrokerError } from "./errors.ts";
import type { PubSubHub } from "./pubsub.ts";

/**
 * Server: a client's (un)subscription request (the data of a message of
 * `SUBSCRIBE_TYPE`), answered through `answer` with whether the rule allowed
 * it and the client's types afterwards. Returns `undefined` when the request
 * is malformed or refused at once (already answered); otherwise a promise
 * that resolves once the subscription is stored and answered, or rejects
 * (after answering) when it cannot be stored.
 */
export function subscribeRequest(
  hub: PubSubHub,
  client: string,
  data: Uint8Array,
  answer: (body: object) => void,
  log: Logger,
): Promise<void> | undefined {
  let stored: Promise<void>;
  try {
    const req = JSON.parse(new TextDecoder().decode(data)) as {
      types?: unknown;
      unsubscribe?: unknown;
    };
    const types = req.types;
    if (
      !Array.isArray(types) || types.length === 0 ||
      types.some((t) => typeof t !== "string" || t === "" || t.length > 256)
    ) {
      throw new BrokerError(
        'Malformed subscription: "types" must be a non-empty list of message type names',
      );
    }
    stored = hub.subscribe(client, types as string[], req.unsubscribe === true);
  } catch (err) {
    answer({ ok: false, error: (err as Error).message });
    return undefined;
  }
  return stored.then(
    () => {
      log.info("subscriptions changed", { peer: client, types: hub.typesOf(client) });
      answer({ ok: true, types: hub.typesOf(client) });
    },
    (err) => {
      answer({ ok: false, error: `Cannot store the subscription: ${err.message}` });
      throw err;
    },
  );
}
