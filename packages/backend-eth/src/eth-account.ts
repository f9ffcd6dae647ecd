import { keccak_256 } from "@noble/hashes/sha3.js";
import { type Account, type Signature, ValidationError } from "@perun-ts/core";
import { hexToBytes, type LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { bytesToHex0x } from "./encoding.js";
import { EthAddress } from "./eth-address.js";
import {
  addressOfSecretKey,
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
 * An account for a secp256k1 secret key. Channel signatures use raw noble on bytes (no hex
 * round-trips). The key lives in a private field and never appears in `toString`, JSON or `inspect`.
 */
export class EthPrivateKeyAccount implements EthAccount {
  readonly address: EthAddress;
  readonly #secretKey: Uint8Array;
  #txAccount: LocalAccount | undefined;

  private constructor(secretKey: Uint8Array) {
    this.#secretKey = secretKey;
    this.address = EthAddress.fromBytes(addressOfSecretKey(secretKey));
  }

  /** An account for a 32-byte key (bytes or `0x` hex; copied); throws `ValidationError` if invalid. */
  static fromSecretKey(secretKey: Uint8Array | string): EthPrivateKeyAccount {
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
    return new EthPrivateKeyAccount(key);
  }

  /** An account with a fresh random key. */
  static random(): EthPrivateKeyAccount {
    return new EthPrivateKeyAccount(randomSecretKey());
  }

  async signData(data: Uint8Array): Promise<Signature> {
    return signDigest(eip191Digest(keccak_256(data)), this.#secretKey);
  }

  async signHash(hash32: Uint8Array): Promise<Signature> {
    return signDigest(eip191Digest(hash32), this.#secretKey);
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
 * signer) to an `EthAccount`. Signs with `signMessage({ message: { raw: hash } })`.
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
