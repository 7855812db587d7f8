import type { PeerIdentity } from "../net/mod.ts";
import type { Link } from "./link.ts";
import type { PeerState } from "./peer.ts";

/** State of one link. */
export interface LinkState {
  link: Link;
  peer: PeerState | undefined;
  /** Messages received on this link. */
  recv: number;
  /** Messages acknowledged back. */
  acked: number;
  /** Durability of messages received since the last acknowledgement (queue appends). */
  waits: Promise<void>[];
  /** Acknowledgements in order, each after its messages are durable. */
  ackChain: Promise<void>;
  /** The sender name the handshake proved (every `msg` on this link must carry it as `src`). */
  remoteName: string;
  identity: PeerIdentity | undefined;
}
