/** Identities and signing: implemented by a backend (sim, eth, …). */

/** A participant or wire address. Backends define the byte format. */
export interface Address {
  /** The canonical byte encoding, decodable by the backend's `decodeAddress`. */
  bytes(): Uint8Array;
  equals(other: Address): boolean;
  /** Byte order; used for deterministic tie-breaks. */
  compare(other: Address): number;
  toString(): string;
}

/** A signature as raw bytes; its length is fixed per backend (`ChannelBackend.signatureLength`). */
export type Signature = Uint8Array;

/** A key that can sign arbitrary data. Keys are never exposed or logged. */
export interface Account {
  readonly address: Address;
  signData(data: Uint8Array): Promise<Signature>;
}

/** Holds accounts; the client unlocks its own participant account and tracks usage per channel. */
export interface Wallet {
  unlock(address: Address): Promise<Account>;
  incrementUsage(address: Address): void;
  decrementUsage(address: Address): void;
}

/** A string that identifies an address in maps (hex of its byte encoding). */
export function addressKey(a: Address): string {
  let s = "";
  for (const b of a.bytes()) s += b.toString(16).padStart(2, "0");
  return s;
}

/** Index of `a` in `list`, or -1. */
export function indexOfAddress(list: readonly Address[], a: Address): number {
  return list.findIndex((x) => x.equals(a));
}
