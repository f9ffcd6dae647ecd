import { secp256k1 as noble } from "@noble/curves/secp256k1.js";
import { type Account, type Signature, ValidationError } from "@perun-ts/core";
import { isValidSecretKey, nobleSecp256k1, type Secp256k1 } from "@perun-ts/secp256k1";
import { SimAddress } from "./sim-address.js";
import { signDigest, simDigest } from "./sim-signature.js";

/** Options of {@link SimAccount.random} and {@link SimAccount.fromSecretKey}. */
export interface SimAccountOptions {
  /** The secp256k1 implementation that derives the address and signs (default noble). */
  readonly secp256k1?: Secp256k1;
}

const INSPECT = Symbol.for("nodejs.util.inspect.custom");

/**
 * A secp256k1 key pair. `signData(data)` signs keccak256(data) and returns r ‖ s ‖ v (65 bytes).
 * The signing implementation is chosen per account (`{ secp256k1 }`); all produce the same bytes.
 * The secret key lives in a private field: it never appears in `toString`, `JSON.stringify` or
 * `util.inspect`, and there is no getter for it.
 */
export class SimAccount implements Account {
  readonly address: SimAddress;
  readonly #secretKey: Uint8Array;
  readonly #secp256k1: Secp256k1;

  private constructor(secretKey: Uint8Array, secp256k1: Secp256k1) {
    this.#secretKey = secretKey;
    this.#secp256k1 = secp256k1;
    this.address = SimAddress.fromPublicKey(secp256k1.publicKey(secretKey));
  }

  /** An account with a fresh random key (from the platform's CSPRNG). */
  static random(opts: SimAccountOptions = {}): SimAccount {
    return new SimAccount(noble.utils.randomSecretKey(), opts.secp256k1 ?? nobleSecp256k1);
  }

  /** An account for a 32-byte secret key (copied); throws `ValidationError` for an invalid key. */
  static fromSecretKey(secretKey: Uint8Array, opts: SimAccountOptions = {}): SimAccount {
    if (!isValidSecretKey(secretKey)) {
      throw new ValidationError("not a valid secp256k1 secret key (32 bytes, 1..n-1)");
    }
    return new SimAccount(secretKey.slice(), opts.secp256k1 ?? nobleSecp256k1);
  }

  /** Signs keccak256(`data`); deterministic for the same key and data. */
  async signData(data: Uint8Array): Promise<Signature> {
    return signDigest(simDigest(data), this.#secretKey, this.#secp256k1);
  }

  toString(): string {
    return `SimAccount(${this.address.toString()})`;
  }

  toJSON(): { address: string } {
    return { address: this.address.toString() };
  }

  [INSPECT](): string {
    return this.toString();
  }
}
