import { SimAddress, SimAsset, SimChannelBackend } from "@perun-ts/backend-sim";
import { type Address, type Asset, type ChannelBackend, toHex } from "@perun-ts/core";
import fc from "fast-check";

/**
 * The backend-specific inputs of the arbitraries: the channel backend (ids, signature length)
 * and arbitraries for its address and asset types. Pass your own to test your backend's types.
 */
export interface BackendArbitraries {
  readonly backend: ChannelBackend;
  readonly address: fc.Arbitrary<Address>;
  readonly asset: fc.Arbitrary<Asset>;
}

/** `backend-sim` types: `SimChannelBackend`, random 20-byte `SimAddress`es, `SimAsset`s with any u64 id. */
export function simArbitraries(backend: ChannelBackend = new SimChannelBackend()): BackendArbitraries {
  return {
    backend,
    address: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => SimAddress.fromBytes(b)),
    asset: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((id) => new SimAsset(id)),
  };
}

/** A fixed value or an inclusive range. */
export type Range<T> = T | { readonly min: T; readonly max: T };

/** Integers of a `Range` (or of `fallback` if it is undefined). */
export function intIn(r: Range<number> | undefined, fallback: Range<number>): fc.Arbitrary<number> {
  const v = r ?? fallback;
  return typeof v === "number" ? fc.constant(v) : fc.integer({ min: v.min, max: v.max });
}

/** Bigints of a `Range` (or of `fallback` if it is undefined). */
export function bigIntIn(r: Range<bigint> | undefined, fallback: Range<bigint>): fc.Arbitrary<bigint> {
  const v = r ?? fallback;
  return typeof v === "bigint" ? fc.constant(v) : fc.bigInt({ min: v.min, max: v.max });
}

/** Hex of some bytes, for uniqueness selectors. */
export function keyOf(b: Uint8Array): string {
  return toHex(b);
}
