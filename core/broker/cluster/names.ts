/** Valid cluster names (they become part of NATS bucket and stream names). */
export const CLUSTER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * Turns a connector name or message type into one NATS subject token (and a
 * valid stream, consumer or KV key name): characters other than
 * `A-Z a-z 0-9 _ -` become `=XX` (hex), so `.` never splits a subject.
 */
export function token(name: string): string {
  // Most names need no escape (this runs for every message stored).
  if (PLAIN_RE.test(name)) return name;
  let out = "";
  for (const ch of enc.encode(name)) {
    const c = String.fromCharCode(ch);
    out += PLAIN_RE.test(c) ? c : `=${ch.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Names that are their own token. */
const PLAIN_RE = /^[A-Za-z0-9_-]*$/;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** The inverse of {@linkcode token}. */
export function untoken(tok: string): string {
  if (!tok.includes("=")) return tok; // nothing escaped
  const bytes: number[] = [];
  for (let i = 0; i < tok.length; i++) {
    if (tok[i] === "=") {
      bytes.push(parseInt(tok.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(tok.charCodeAt(i));
  }
  return dec.decode(new Uint8Array(bytes));
}

/** The NATS names one cluster uses, all derived from its name. */
export interface ClusterNames {
  /** KV bucket: client name → the server holding it. */
  presenceBucket: string;
  /** KV bucket: server name → heartbeat (entries expire when a server stops beating). */
  serversBucket: string;
  /** Stream of every message for a client (forwarded and away backlog alike). */
  mailboxStream: string;
  /** Subject of the messages for client `name`. */
  mailboxSubject(name: string): string;
  /** Wildcard over every client's mailbox subject. */
  mailboxWildcard: string;
  /** Stream of the per-type receive queues of the server connectors. */
  typeStream: string;
  /** Subject of the queued messages of type `type`. */
  typeSubject(type: string): string;
  /** Wildcard over every type's queue subject. */
  typeWildcard: string;
  /** KV bucket: message type → the server whose listener takes its queue. */
  typeHoldersBucket: string;
  /** Stream of publications, read by every server. */
  pubStream: string;
  /** Subject of published messages of type `type`. */
  pubSubject(type: string): string;
  /** Wildcard over every published type. */
  pubWildcard: string;
}

/** The NATS names of cluster `cluster` (throws `TypeError` for an invalid name). */
export function clusterNames(cluster: string): ClusterNames {
  if (!CLUSTER_NAME_RE.test(cluster)) {
    throw new TypeError(
      `Invalid cluster name "${cluster}": use letters, digits, _ and - (at most 64, starting with a letter or digit)`,
    );
  }
  const t = cluster;
  return {
    presenceBucket: `sockkit_${t}_presence`,
    serversBucket: `sockkit_${t}_servers`,
    mailboxStream: `sockkit_${t}_mailbox`,
    mailboxSubject: (name) => `sockkit.${t}.to.${token(name)}`,
    mailboxWildcard: `sockkit.${t}.to.*`,
    typeStream: `sockkit_${t}_types`,
    typeSubject: (type) => `sockkit.${t}.type.${token(type)}`,
    typeWildcard: `sockkit.${t}.type.*`,
    typeHoldersBucket: `sockkit_${t}_typeholders`,
    pubStream: `sockkit_${t}_pub`,
    pubSubject: (type) => `sockkit.${t}.pub.${token(type)}`,
    pubWildcard: `sockkit.${t}.pub.*`,
  };
}
