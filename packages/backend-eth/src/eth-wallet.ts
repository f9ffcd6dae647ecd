import { AccountStore, type Address, ValidationError, type Wallet } from "@perun-ts/core";
import { nobleSecp256k1, type Secp256k1 } from "@perun-ts/secp256k1";
import type { LocalAccount } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { type EthAccount, EthPrivateKeyAccount, ViemAccountAdapter } from "./eth-account.js";
import { EthAddress } from "./eth-address.js";
import type { EthSignerOptions } from "./signature.js";

// The wallet errors are core's (one class for every backend); re-exported for existing imports.
export { UnknownAccountError, UsageCountError } from "@perun-ts/core";

/** BIP-44 path of Ethereum account `index`: m/44'/60'/`account`'/0/`index`. */
export function bip44Path(index: number, account = 0): `m/44'/60'/${string}` {
  if (!Number.isInteger(index) || index < 0 || index >= 2 ** 31)
    throw new ValidationError("invalid address index");
  if (!Number.isInteger(account) || account < 0 || account >= 2 ** 31)
    throw new ValidationError("invalid account index");
  return `m/44'/60'/${account}'/0/${index}`;
}

/**
 * An in-memory wallet of Ethereum accounts with per-address usage counts: private keys, accounts
 * derived from a BIP-39 mnemonic (standard BIP-44 paths m/44'/60'/0'/0/i), and any viem
 * `LocalAccount`. Never exposes keys in `toString`, JSON or `inspect`.
 *
 * @example
 * const wallet = EthWallet.fromMnemonic("test test … junk", { count: 2 });
 * const [alice] = wallet.accounts();
 * const account = await wallet.unlock(alice.address);
 */
export class EthWallet implements Wallet {
  readonly #store = new AccountStore<EthAccount>();
  readonly #mnemonic: string | undefined;
  readonly #secp256k1: Secp256k1;
  #nextIndex = 0;

  /** `secp256k1` signs for every key-based account the wallet creates (default noble). */
  constructor(opts: { mnemonic?: string } & EthSignerOptions = {}) {
    this.#mnemonic = opts.mnemonic;
    this.#secp256k1 = opts.secp256k1 ?? nobleSecp256k1;
  }

  /** A wallet holding the first `count` (default 1) BIP-44 accounts of `mnemonic`. */
  static fromMnemonic(mnemonic: string, opts: { count?: number } & EthSignerOptions = {}): EthWallet {
    const w = new EthWallet({ mnemonic, ...(opts.secp256k1 ? { secp256k1: opts.secp256k1 } : {}) });
    for (let i = 0; i < (opts.count ?? 1); i++) w.newAccount();
    return w;
  }

  /** Adds the next account: derived from the mnemonic at m/44'/60'/0'/0/i, or random without one. */
  newAccount(): EthAccount {
    const opts = { secp256k1: this.#secp256k1 };
    if (this.#mnemonic === undefined) return this.addAccount(EthPrivateKeyAccount.random(opts));
    const index = this.#nextIndex++;
    return this.addAccount(deriveAccount(this.#mnemonic, index, opts));
  }

  /** Adds an account for a secret key (bytes or hex); throws `ValidationError` for an invalid key. */
  importSecretKey(secretKey: Uint8Array | string): EthAccount {
    return this.addAccount(EthPrivateKeyAccount.fromSecretKey(secretKey, { secp256k1: this.#secp256k1 }));
  }

  /** Adds any viem `LocalAccount`. */
  addViemAccount(account: LocalAccount): EthAccount {
    return this.addAccount(new ViemAccountAdapter(account));
  }

  /** Adds `account` (no-op if one with that address is held) and returns the held one. */
  addAccount(account: EthAccount): EthAccount {
    return this.#store.add(account);
  }

  /** Held accounts in insertion order. */
  accounts(): EthAccount[] {
    return this.#store.accounts();
  }

  hasAccount(address: Address): boolean {
    return this.#store.has(address);
  }

  async unlock(address: Address): Promise<EthAccount> {
    return this.#store.get(address);
  }

  incrementUsage(address: Address): void {
    this.#store.incrementUsage(address);
  }

  decrementUsage(address: Address): void {
    this.#store.decrementUsage(address);
  }

  usageCount(address: Address): number {
    return this.#store.usageCount(address);
  }

  toString(): string {
    return `EthWallet(${this.#store.size} accounts)`;
  }

  toJSON(): { accounts: string[] } {
    return { accounts: this.accounts().map((a) => a.address.hex) };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** The account at m/44'/60'/0'/0/`index` of a BIP-39 mnemonic, signing with `opts.secp256k1` (default noble). */
export function deriveAccount(
  mnemonic: string,
  index: number,
  opts: EthSignerOptions = {},
): EthPrivateKeyAccount {
  let hd: ReturnType<typeof mnemonicToAccount>;
  try {
    hd = mnemonicToAccount(mnemonic, { path: bip44Path(index) });
  } catch (cause) {
    throw new ValidationError("invalid mnemonic", { cause });
  }
  const key = hd.getHdKey().privateKey;
  if (!key) throw new ValidationError("mnemonic derivation yielded no private key");
  const account = EthPrivateKeyAccount.fromSecretKey(key, opts);
  if (!account.address.equals(EthAddress.fromHex(hd.address))) {
    throw new ValidationError("derived key does not match the derived address");
  }
  return account;
}
