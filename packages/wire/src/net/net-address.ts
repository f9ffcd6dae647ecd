import { type Address, addressKey } from "@perun-ts/core";

/** Where a peer listens: a TCP host and port, or a Unix socket path. */
export type NetAddress = { readonly host: string; readonly port: number } | { readonly path: string };

/** A readable form for logs and errors. */
export function netAddressToString(a: NetAddress): string {
  return "path" in a ? `unix:${a.path}` : `${a.host}:${a.port}`;
}

/**
 * Maps wire addresses to where those peers listen; a NetBus dials through it on demand. Entries
 * may change at any time (the next dial uses the new one).
 */
export class AddressBook {
  readonly #entries = new Map<string, NetAddress>();

  constructor(entries: Iterable<readonly [Address, NetAddress]> = []) {
    for (const [a, n] of entries) this.set(a, n);
  }

  set(address: Address, netAddress: NetAddress): this {
    this.#entries.set(addressKey(address), netAddress);
    return this;
  }

  get(address: Address): NetAddress | undefined {
    return this.#entries.get(addressKey(address));
  }

  delete(address: Address): boolean {
    return this.#entries.delete(addressKey(address));
  }
}
