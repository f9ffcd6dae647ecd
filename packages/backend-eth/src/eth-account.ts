import { keccak_256 } from "@noble/hashes/sha3.js";
import { type Account, type Signature, ValidationError } from "@perun-ts/core";
import { nobleSecp256k1, type Secp256k1 } from "@perun-ts/secp256k1";
import { hexToBytes, type LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { bytesToHex0x } from "./encoding.js";
import { EthAddress } from "./eth-address.js";
import {
  addressOfSecretKey,
  type EthSignerOptions,
  eip191Digest,
  isValidSecretKey,
  randomSecretKey,
  signDigest,
} from "./signature.js";

const INSPECT = Symbol.for("nodejs.util.inspect.custom");

/**
 * An Ethereum account: signs channel data (EIP-191 over keccak256(data), v = 27/28) and provides a
 * viem `LocalAccount` that signs its transactions.
 */
export interface EthAccount extends Account {
  readonly address: EthAddress;
  /** Signs a 32-byte hash as an EIP-191 personal message (what the contracts verify). */
  signHash(hash32: Uint8Array): Promise<Signature>;
  /** The viem account that signs this account's transactions. */
  readonly txAccount: LocalAccount;
}

/**
 * An account for a secp256k1 secret key. Channel signatures are made on bytes (no hex round-trips)
 * by a pluggable {@link Secp256k1} (default noble; `{ secp256k1 }` picks another, e.g. native). The
 * key lives in a private field and never appears in `toString`, JSON or `inspect`.
 */
export class EthPrivateKeyAccount implements EthAccount {
  readonly address: EthAddress;
  readonly #secretKey: Uint8Array;
  readonly #secp256k1: Secp256k1;
  #txAccount: LocalAccount | undefined;

  private constructor(secretKey: Uint8Array, secp256k1: Secp256k1) {
    this.#secretKey = secretKey;
    this.#secp256k1 = secp256k1;
    this.address = EthAddress.fromBytes(addressOfSecretKey(secretKey, secp256k1));
  }

  /** The secp256k1 implementation this account signs with (`name` says which). */
  get secp256k1(): Secp256k1 {
    return this.#secp256k1;
  }

  /** An account for a 32-byte key (bytes or `0x` hex; copied); throws `ValidationError` if invalid. */
  static fromSecretKey(secretKey: Uint8Array | string, opts: EthSignerOptions = {}): EthPrivateKeyAccount {
    let key: Uint8Array;
    if (typeof secretKey === "string") {
      if (!/^(0x)?[0-9a-fA-F]{64}$/.test(secretKey))
        throw new ValidationError("secret key must be 32 bytes of hex");
      key = hexToBytes((secretKey.startsWith("0x") ? secretKey : `0x${secretKey}`) as `0x${string}`);
    } else {
      key = secretKey.slice();
    }
    if (!isValidSecretKey(key))
      throw new ValidationError("not a valid secp256k1 secret key (32 bytes, 1..n-1)");
    return new EthPrivateKeyAccount(key, opts.secp256k1 ?? nobleSecp256k1);
  }

  /** An account with a fresh random key. */
  static random(opts: EthSignerOptions = {}): EthPrivateKeyAccount {
    return new EthPrivateKeyAccount(randomSecretKey(), opts.secp256k1 ?? nobleSecp256k1);
  }

  async signData(data: Uint8Array): Promise<Signature> {
    return signDigest(eip191Digest(keccak_256(data)), this.#secretKey, this.#secp256k1);
  }

  async signHash(hash32: Uint8Array): Promise<Signature> {
    return signDigest(eip191Digest(hash32), this.#secretKey, this.#secp256k1);
  }

  get txAccount(): LocalAccount {
    this.#txAccount ??= privateKeyToAccount(bytesToHex0x(this.#secretKey));
    return this.#txAccount;
  }

  toString(): string {
    return `EthAccount(${this.address.hex})`;
  }

  toJSON(): { address: string } {
    return { address: this.address.hex };
  }

  [INSPECT](): string {
    return this.toString();
  }
}

/**
 * Adapts any viem `LocalAccount` (private key, HD, or a custom signer such as a hardware or remote
 * signer) to an `EthAccount`. Signs with `signMessage({ message: { raw: hash } })`, i.e. with the
 * account's own crypto (a `Secp256k1` choice does not apply).
 */
export class ViemAccountAdapter implements EthAccount {
  readonly address: EthAddress;
  readonly txAccount: LocalAccount;

  constructor(account: LocalAccount) {
    this.txAccount = account;
    this.address = EthAddress.fromHex(account.address);
  }

  async signData(data: Uint8Array): Promise<Signature> {
    return this.signHash(keccak_256(data));
  }

  async signHash(hash32: Uint8Array): Promise<Signature> {
    const sig = hexToBytes(await this.txAccount.signMessage({ message: { raw: hash32 } }));
    // Some signers return v ∈ {0, 1}; the contracts accept only 27/28.
    if (sig.length === 65 && (sig[64] as number) < 27) sig[64] = (sig[64] as number) + 27;
    return sig;
  }

  toString(): string {
    return `EthAccount(${this.address.hex})`;
  }

  toJSON(): { address: string } {
    return { address: this.address.hex };
  }

  [INSPECT](): string {
    return this.toString();
  }
}
