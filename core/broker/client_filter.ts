/**
 * Which client connectors the server admits, by name, IP address and
 * subnet (aioconnectors' `whitelisted_clients_id/ip/subnet` and
 * `blacklisted_...`): a client on a deny list is refused; when any allow
 * list has entries, a client must be on one of them. Pure: the connector
 * checks it at `hello` and again for every connected client after a change.
 *
 * @module
 */
import net from "node:net";

/** What an entry matches. */
export type FilterKind = "name" | "ip" | "subnet";
/** Which list an entry is on. */
export type FilterList = "allow" | "deny";

/** One entry, written `name:N`, `ip:ADDRESS` or `subnet:ADDRESS/BITS`. */
export interface FilterEntry {
  kind: FilterKind;
  value: string;
}

/** The lists as written entries. */
export interface FilterLists {
  allow: string[];
  deny: string[];
}

function family(ip: string): "ipv4" | "ipv6" {
  return net.isIP(ip) === 6 ? "ipv6" : "ipv4";
}

/**
 * Parses `name:N`, `ip:ADDRESS` or `subnet:ADDRESS/BITS`; a bare value is a
 * subnet when it has a `/`, an IP address when it is one, a name otherwise.
 * Throws `TypeError` naming what was expected.
 */
export function parseFilterEntry(raw: string): FilterEntry {
  const m = /^(name|ip|subnet):(.*)$/.exec(raw);
  const kind: FilterKind = m
    ? m[1] as FilterKind
    : raw.includes("/")
    ? "subnet"
    : net.isIP(raw)
    ? "ip"
    : "name";
  const value = m ? m[2]! : raw;
  if (value === "") {
    throw new TypeError(`Empty client filter entry "${raw}": expected ${kind}:VALUE`);
  }
  if (kind === "ip" && !net.isIP(value)) {
    throw new TypeError(`Invalid IP address "${value}" in client filter entry "${raw}"`);
  }
  if (kind === "subnet") {
    const [addr, bits, extra] = value.split("/");
    const max = net.isIP(addr ?? "") === 6 ? 128 : 32;
    const n = Number(bits);
    if (extra !== undefined || !net.isIP(addr ?? "") || !/^\d+$/.test(bits ?? "") || n > max) {
      throw new TypeError(
        `Invalid subnet "${value}" in client filter entry "${raw}": expected ADDRESS/BITS, e.g. 10.0.0.0/8`,
      );
    }
  }
  return { kind, value };
}

function written(e: FilterEntry): string {
  return `${e.kind}:${e.value}`;
}

class CompiledList {
  readonly entries: FilterEntry[];
  readonly names = new Set<string>();
  readonly blocks = new net.BlockList();
  readonly hasAddresses: boolean;

  constructor(entries: FilterEntry[]) {
    this.entries = entries;
    let addresses = false;
    for (const e of entries) {
      if (e.kind === "name") this.names.add(e.value);
      else if (e.kind === "ip") {
        this.blocks.addAddress(e.value, family(e.value));
        addresses = true;
      } else {
        const [addr, bits] = e.value.split("/") as [string, string];
        this.blocks.addSubnet(addr, Number(bits), family(addr));
        addresses = true;
      }
    }
    this.hasAddresses = addresses;
  }

  /** The entry kind that matches, if any. */
  match(name: string, ip: string): FilterKind | undefined {
    if (this.names.has(name)) return "name";
    if (this.hasAddresses && net.isIP(ip) && this.blocks.check(ip, family(ip))) return "ip";
    return undefined;
  }
}

/**
 * The server's allow and deny lists, changeable at run time.
 *
 * @example
 * ```ts
 * const f = new ClientFilter({ deny: ["subnet:10.0.0.0/8"] });
 * f.check("alice", "10.1.2.3"); // 'client "alice" at 10.1.2.3 is on the server\'s deny list (address)'
 * ```
 */
export class ClientFilter {
  #allow: CompiledList;
  #deny: CompiledList;

  /** Starts from written entries (see {@linkcode parseFilterEntry}). */
  constructor(lists: Partial<FilterLists> = {}) {
    this.#allow = new CompiledList((lists.allow ?? []).map(parseFilterEntry));
    this.#deny = new CompiledList((lists.deny ?? []).map(parseFilterEntry));
  }

  /** Why a client called `name` connecting from `ip` is refused, or `undefined` when it is admitted. */
  check(name: string, ip: string): string | undefined {
    const denied = this.#deny.match(name, ip);
    if (denied) {
      return `client "${name}" at ${ip} is on the server's deny list (${
        denied === "name" ? "name" : "address"
      })`;
    }
    if (this.#allow.entries.length > 0 && !this.#allow.match(name, ip)) {
      return `client "${name}" at ${ip} is not on the server's allow list`;
    }
    return undefined;
  }

  /** Adds an entry to a list; `false` when it was there already. */
  add(list: FilterList, raw: string): boolean {
    const e = parseFilterEntry(raw);
    const cur = list === "allow" ? this.#allow : this.#deny;
    if (cur.entries.some((x) => written(x) === written(e))) return false;
    this.#set(list, [...cur.entries, e]);
    return true;
  }

  /** Removes an entry from a list; `false` when it was not there. */
  remove(list: FilterList, raw: string): boolean {
    const e = parseFilterEntry(raw);
    const cur = list === "allow" ? this.#allow : this.#deny;
    const rest = cur.entries.filter((x) => written(x) !== written(e));
    if (rest.length === cur.entries.length) return false;
    this.#set(list, rest);
    return true;
  }

  #set(list: FilterList, entries: FilterEntry[]): void {
    if (list === "allow") this.#allow = new CompiledList(entries);
    else this.#deny = new CompiledList(entries);
  }

  /** The lists as written entries. */
  lists(): FilterLists {
    return { allow: this.#allow.entries.map(written), deny: this.#deny.entries.map(written) };
  }
}
