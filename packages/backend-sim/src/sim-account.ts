import { secp256k1 } from "@noble/curves/secp256k1.js";
import { type Account, type Signature, ValidationError } from "@perun-ts/core";
import { SimAddress } from "./sim-address.js";
import { signDigest, simDigest } from "./sim-signature.js";

const INSPECT = Symbol.for("nodejs.util.inspect.custom");

/**
 * A secp256k1 key pair. `signData(data)` signs keccak256(data) and returns r ‖ s ‖ v (65 bytes).
 * The secret key lives in a private field: it never appears in `toString`, `JSON.stringify` or
 * `util.inspect`, and there is no getter for it.
 */
export class SimAccount implements Account {
  readonly address: SimAddress;
  readonly #secretKey: Uint8Array;

  private constructor(secretKey: Uint8Array) {
    this.#secretKey = secretKey;
    this.address = SimAddress.fromPublicKey(secp256k1.getPublicKey(secretKey, false));
  }

  /** An account with a fresh random key (from the platform's CSPRNG). */
  static random(): SimAccount {
    return new SimAccount(secp256k1.utils.randomSecretKey());
  }

  /** An account for a 32-byte secret key (copied); throws `ValidationError` for an invalid key. */
  static fromSecretKey(secretKey: Uint8Array): SimAccount {
    if (!(secretKey instanceof Uint8Array) || !secp256k1.utils.isValidSecretKey(secretKey)) {
      throw new ValidationError("not a valid secp256k1 secret key (32 bytes, 1..n-1)");
    }
    return new SimAccount(secretKey.slice());
  }

  /** Signs keccak256(`data`); deterministic for the same key and data. */
  async signData(data: Uint8Array): Promise<Signature> {
    return signDigest(simDigest(data), this.#secretKey);
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
