import { keccak_256 } from "@noble/hashes/sha3.js";
import { AccountStore, type Address, ValidationError, type Wallet } from "@perun-ts/core";
import { isValidSecretKey, type Secp256k1 } from "@perun-ts/secp256k1";
import { SimAccount, type SimAccountOptions } from "./sim-account.js";

// The wallet errors are core's (one class for every backend); re-exported for existing imports.
export { UnknownAccountError, UsageCountError } from "@perun-ts/core";

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
  readonly #store = new AccountStore<SimAccount>();
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
    return this.#store.add(account);
  }

  hasAccount(address: Address): boolean {
    return this.#store.has(address);
  }

  /** Addresses of all held accounts, in insertion order. */
  addresses(): Address[] {
    return this.#store.accounts().map((a) => a.address);
  }

  /** Resolves to the account of `address`; rejects with `UnknownAccountError` if not held. */
  async unlock(address: Address): Promise<SimAccount> {
    return this.#store.get(address);
  }

  /** Counts one more use (e.g. a funded channel); throws `UnknownAccountError` if not held. */
  incrementUsage(address: Address): void {
    this.#store.incrementUsage(address);
  }

  /** Counts one use less; throws `UsageCountError` below zero, `UnknownAccountError` if not held. */
  decrementUsage(address: Address): void {
    this.#store.decrementUsage(address);
  }

  /** Current usage count of `address` (0 for unknown or unused addresses). */
  usageCount(address: Address): number {
    return this.#store.usageCount(address);
  }

  toString(): string {
    return `SimWallet(${this.#store.size} accounts)`;
  }

  toJSON(): { accounts: string[] } {
    return { accounts: this.addresses().map((a) => a.toString()) };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
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
