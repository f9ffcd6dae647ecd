import { keccak_256 } from "@noble/hashes/sha3.js";
import { SignatureError } from "@perun-ts/core";
import {
  isValidSecretKey as isValidSecp256k1SecretKey,
  nobleSecp256k1,
  publicKeyToAddress,
  type Secp256k1,
  Secp256k1Error,
} from "@perun-ts/secp256k1";

/** Length of an Ethereum signature: r (32) ‖ s (32) ‖ v (1), v ∈ {27, 28}. */
export const ETH_SIGNATURE_LENGTH = 65;

/** Options shared by everything that signs or verifies: which secp256k1 implementation to use. */
export interface EthSignerOptions {
  /**
   * The secp256k1 implementation (default `nobleSecp256k1`, pure JS). Pass
   * `selectSecp256k1({ prefer: "native", logger })` from @perun-ts/secp256k1 for libsecp256k1;
   * every implementation produces the same bytes.
   */
  readonly secp256k1?: Secp256k1;
}

const PREFIX = new TextEncoder().encode("\x19Ethereum Signed Message:\n32");

/** The EIP-191 personal-message digest of a 32-byte hash: keccak256("\x19Ethereum Signed Message:\n32" ‖ hash). */
export function eip191Digest(hash32: Uint8Array): Uint8Array {
  if (hash32.length !== 32) throw new SignatureError("EIP-191 input must be a 32-byte hash");
  const buf = new Uint8Array(PREFIX.length + 32);
  buf.set(PREFIX, 0);
  buf.set(hash32, PREFIX.length);
  return keccak_256(buf);
}

/** Signs a digest as is: deterministic, low-s, r ‖ s ‖ v with v = 27/28 (Ethereum's convention). */
export function signDigest(
  digest: Uint8Array,
  secretKey: Uint8Array,
  secp256k1: Secp256k1 = nobleSecp256k1,
): Uint8Array {
  const sig = secp256k1.sign(digest, secretKey);
  sig[64] = (sig[64] as number) + 27;
  return sig;
}

/**
 * The 20-byte address that signed `digest`. Throws `SignatureError` for what the contracts reject
 * as malformed: wrong length, r/s out of range, high s, v ∉ {27, 28}, r not on the curve.
 */
export function recoverSigner(
  digest: Uint8Array,
  sig: Uint8Array,
  secp256k1: Secp256k1 = nobleSecp256k1,
): Uint8Array {
  if (!(sig instanceof Uint8Array)) throw new SignatureError("signature is not a byte array");
  if (sig.length !== ETH_SIGNATURE_LENGTH) {
    throw new SignatureError(`signature must be ${ETH_SIGNATURE_LENGTH} bytes, got ${sig.length}`);
  }
  const v = sig[64] as number;
  if (v !== 27 && v !== 28) throw new SignatureError(`signature v must be 27 or 28, got ${v}`);
  const raw = sig.slice();
  raw[64] = v - 27;
  try {
    return publicKeyToAddress(secp256k1.recover(digest, raw));
  } catch (cause) {
    if (cause instanceof Secp256k1Error) {
      throw new SignatureError(cause.message, { cause, details: { reason: cause.reason } });
    }
    throw cause;
  }
}

/** The address of a secret key (last 20 bytes of keccak256 of the uncompressed public key). */
export function addressOfSecretKey(secretKey: Uint8Array, secp256k1: Secp256k1 = nobleSecp256k1): Uint8Array {
  return publicKeyToAddress(secp256k1.publicKey(secretKey));
}

/** True if `secretKey` is a valid secp256k1 secret key (32 bytes, 1..n-1). */
export function isValidSecretKey(secretKey: Uint8Array): boolean {
  return isValidSecp256k1SecretKey(secretKey);
}

/** A fresh random secret key from the platform CSPRNG (rejection-sampled into 1..n-1). */
export function randomSecretKey(): Uint8Array {
  for (;;) {
    const key = crypto.getRandomValues(new Uint8Array(32));
    if (isValidSecp256k1SecretKey(key)) return key;
  }
}
