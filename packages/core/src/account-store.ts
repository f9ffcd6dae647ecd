import { UnknownAccountError, UsageCountError } from "./errors.js";
import { type Account, type Address, addressKey } from "./identity.js";

/**
 * The bookkeeping every in-memory wallet needs: accounts by address and per-address usage counts
 * (how many open channels use an account). Backends' wallets compose it and add key handling.
 */
export class AccountStore<A extends Account> {
  readonly #accounts = new Map<string, A>();
  readonly #usage = new Map<string, number>();

  /** Adds `account` (no-op if one with that address is held) and returns the held one. */
  add(account: A): A {
    const key = addressKey(account.address);
    const held = this.#accounts.get(key);
    if (held) return held;
    this.#accounts.set(key, account);
    return account;
  }

  has(address: Address): boolean {
    return this.#accounts.has(addressKey(address));
  }

  /** The account of `address`; throws `UnknownAccountError` if not held. */
  get(address: Address): A {
    const account = this.#accounts.get(addressKey(address));
    if (!account) throw new UnknownAccountError(address.toString());
    return account;
  }

  /** Held accounts in insertion order. */
  accounts(): A[] {
    return [...this.#accounts.values()];
  }

  get size(): number {
    return this.#accounts.size;
  }

  /** One more use; throws `UnknownAccountError` if not held. */
  incrementUsage(address: Address): void {
    const key = this.#knownKey(address);
    this.#usage.set(key, (this.#usage.get(key) ?? 0) + 1);
  }

  /** One use less; throws `UsageCountError` below zero, `UnknownAccountError` if not held. */
  decrementUsage(address: Address): void {
    const key = this.#knownKey(address);
    const n = this.#usage.get(key) ?? 0;
    if (n === 0) throw new UsageCountError(address.toString());
    if (n === 1) this.#usage.delete(key);
    else this.#usage.set(key, n - 1);
  }

  /** Current usage count (0 for unknown or unused addresses). */
  usageCount(address: Address): number {
    return this.#usage.get(addressKey(address)) ?? 0;
  }

  #knownKey(address: Address): string {
    const key = addressKey(address);
    if (!this.#accounts.has(key)) throw new UnknownAccountError(address.toString());
    return key;
  }
}
