import { keccak_256 } from "@noble/hashes/sha3.js";
import { type Address, addressKey, PerunError, ValidationError, type Wallet } from "@perun-ts/core";
import { isValidSecretKey, type Secp256k1 } from "@perun-ts/secp256k1";
import { SimAccount, type SimAccountOptions } from "./sim-account.js";

/** The wallet holds no account for the address. */
export class UnknownAccountError extends PerunError {
  constructor(readonly address: string) {
    super(`wallet has no account for ${address}`, { details: { address } });
  }
}

/** `decrementUsage` was called more often than `incrementUsage` for an address. */
export class UsageCountError extends PerunError {
  constructor(readonly address: string) {
    super(`usage count of ${address} would drop below zero`, { details: { address } });
  }
}

const TEXT = new TextEncoder();

/**
 * An in-memory wallet of `SimAccount`s with per-address usage counts. Accounts stay in the wallet
 * when their count returns to zero (sim keys are cheap and tests reuse them).
 *
 * @example
 * const wallet = SimWallet.fromSeed("alice");
 * const account = wallet.newAccount();          // deterministic for the seed
 * const same = await wallet.unlock(account.address);
 *
 * // accounts that sign with the native libsecp256k1 binding (same signatures, ~10× faster):
 * const fast = new SimWallet({ seed: "alice", secp256k1: selectSecp256k1({ prefer: "native", logger }) });
 */
export class SimWallet implements Wallet {
  readonly #accounts = new Map<string, SimAccount>();
  readonly #usage = new Map<string, number>();
  readonly #seed: Uint8Array | undefined;
  readonly #accountOptions: SimAccountOptions;
  #derived = 0;

  /**
   * An empty wallet; `newAccount` creates random keys unless `seed` is given. Accounts created or
   * imported by the wallet sign with `secp256k1` (default noble).
   */
  constructor(opts: { seed?: Uint8Array | string; secp256k1?: Secp256k1 } = {}) {
    const { seed, secp256k1 } = opts;
    this.#seed = seed === undefined ? undefined : typeof seed === "string" ? TEXT.encode(seed) : seed.slice();
    this.#accountOptions = secp256k1 === undefined ? {} : { secp256k1 };
  }

  /** A wallet whose `newAccount` derives keys deterministically from `seed` (tests, demos). */
  static fromSeed(seed: Uint8Array | string, opts: { secp256k1?: Secp256k1 } = {}): SimWallet {
    return new SimWallet({ ...opts, seed });
  }

  /** Adds and returns a new account: random, or the next key derived from the seed. */
  newAccount(): SimAccount {
    const account = this.#seed
      ? SimAccount.fromSecretKey(this.#nextSeededKey(this.#seed), this.#accountOptions)
      : SimAccount.random(this.#accountOptions);
    return this.addAccount(account);
  }

  /** Adds an account for a 32-byte secret key; throws `ValidationError` for an invalid key. */
  importSecretKey(secretKey: Uint8Array): SimAccount {
    return this.addAccount(SimAccount.fromSecretKey(secretKey, this.#accountOptions));
  }

  /** Adds `account` (no-op if an account with that address is already held) and returns the held one. */
  addAccount(account: SimAccount): SimAccount {
    const key = addressKey(account.address);
    const held = this.#accounts.get(key);
    if (held) return held;
    this.#accounts.set(key, account);
    return account;
  }

  hasAccount(address: Address): boolean {
    return this.#accounts.has(addressKey(address));
  }

  /** Addresses of all held accounts, in insertion order. */
  addresses(): Address[] {
    return [...this.#accounts.values()].map((a) => a.address);
  }

  /** Resolves to the account of `address`; rejects with `UnknownAccountError` if not held. */
  async unlock(address: Address): Promise<SimAccount> {
    const account = this.#accounts.get(addressKey(address));
    if (!account) throw new UnknownAccountError(address.toString());
    return account;
  }

  /** Counts one more use (e.g. a funded channel); throws `UnknownAccountError` if not held. */
  incrementUsage(address: Address): void {
    const key = this.#knownKey(address);
    this.#usage.set(key, (this.#usage.get(key) ?? 0) + 1);
  }

  /** Counts one use less; throws `UsageCountError` below zero, `UnknownAccountError` if not held. */
  decrementUsage(address: Address): void {
    const key = this.#knownKey(address);
    const n = this.#usage.get(key) ?? 0;
    if (n === 0) throw new UsageCountError(address.toString());
    if (n === 1) this.#usage.delete(key);
    else this.#usage.set(key, n - 1);
  }

  /** Current usage count of `address` (0 for unknown or unused addresses). */
  usageCount(address: Address): number {
    return this.#usage.get(addressKey(address)) ?? 0;
  }

  toString(): string {
    return `SimWallet(${this.#accounts.size} accounts)`;
  }

  toJSON(): { accounts: string[] } {
    return { accounts: this.addresses().map((a) => a.toString()) };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  #knownKey(address: Address): string {
    const key = addressKey(address);
    if (!this.#accounts.has(key)) throw new UnknownAccountError(address.toString());
    return key;
  }

  // keccak256(seed ‖ u32 counter), skipping the (astronomically unlikely) invalid scalars.
  #nextSeededKey(seed: Uint8Array): Uint8Array {
    for (;;) {
      const buf = new Uint8Array(seed.length + 4);
      buf.set(seed, 0);
      new DataView(buf.buffer).setUint32(seed.length, this.#derived++, false);
      const sk = keccak_256(buf);
      if (isValidSecretKey(sk)) return sk;
      if (this.#derived > 0xffffffff) throw new ValidationError("seed exhausted");
    }
  }
}
