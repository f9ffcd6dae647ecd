import {
  type Address,
  type App,
  type Asset,
  type ChannelId,
  MAX_NONCE,
  noApp,
  PaymentApp,
} from "@perun-ts/core";
import fc from "fast-check";
import { type BackendArbitraries, keyOf, simArbitraries } from "./backend.js";

/** Options shared by every arbitrary: which backend's types to generate. */
export interface WithBackend {
  /** Defaults to {@link simArbitraries}. */
  readonly backend?: BackendArbitraries;
}

export function backendOf(opts: WithBackend | undefined): BackendArbitraries {
  return opts?.backend ?? simArbitraries();
}

/** An address of the backend. */
export function arbAddress(opts?: WithBackend): fc.Arbitrary<Address> {
  return backendOf(opts).address;
}

/** `count` pairwise different addresses. */
export function arbDistinctAddresses(count: number, opts?: WithBackend): fc.Arbitrary<Address[]> {
  return fc.uniqueArray(backendOf(opts).address, {
    minLength: count,
    maxLength: count,
    selector: (a) => keyOf(a.bytes()),
  });
}

/** An asset of the backend. */
export function arbAsset(opts?: WithBackend): fc.Arbitrary<Asset> {
  return backendOf(opts).asset;
}

/** `count` pairwise different assets. */
export function arbDistinctAssets(count: number, opts?: WithBackend): fc.Arbitrary<Asset[]> {
  return fc.uniqueArray(backendOf(opts).asset, {
    minLength: count,
    maxLength: count,
    selector: (a) => keyOf(a.bytes()),
  });
}

/** 32 random bytes. */
export function arbChannelId(): fc.Arbitrary<ChannelId> {
  return fc.uint8Array({ minLength: 32, maxLength: 32 });
}

/** A nonce in 0..2^256-1 (biased towards small and extreme values by fast-check). */
export function arbNonce(): fc.Arbitrary<bigint> {
  return fc.bigInt({ min: 0n, max: MAX_NONCE });
}

/**
 * `noApp` or a `PaymentApp` with a random definition address. `withApp: true` gives only payment
 * apps, `false` only `noApp`.
 */
export function arbApp(opts?: WithBackend & { readonly withApp?: boolean }): fc.Arbitrary<App> {
  const payment = backendOf(opts).address.map((def): App => new PaymentApp(def));
  if (opts?.withApp === true) return payment;
  if (opts?.withApp === false) return fc.constant(noApp);
  return fc.oneof(fc.constant(noApp), payment);
}
