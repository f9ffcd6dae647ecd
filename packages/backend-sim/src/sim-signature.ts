import { keccak_256 } from "@noble/hashes/sha3.js";
import { SignatureError, ValidationError } from "@perun-ts/core";
import {
  nobleSecp256k1,
  publicKeyToAddress,
  type Secp256k1,
  Secp256k1Error,
  SIGNATURE_LENGTH,
} from "@perun-ts/secp256k1";

// Re-exported so that a backend-sim user can pick the signer without another dependency.
export {
  loadNativeSecp256k1,
  nobleSecp256k1,
  requireNativeSecp256k1,
  type Secp256k1,
  type SelectSecp256k1Options,
  selectSecp256k1,
} from "@perun-ts/secp256k1";

/** Length of a sim signature: r (32) ‖ s (32) ‖ v (1), v ∈ {0, 1}. */
export const SIM_SIGNATURE_LENGTH = SIGNATURE_LENGTH;

/** The digest a sim account signs for `data`: keccak256(data). */
export function simDigest(data: Uint8Array): Uint8Array {
  return keccak_256(data);
}

// Secp256k1Error → the core error a caller of a backend expects.
function toCoreError(e: unknown): unknown {
  if (!(e instanceof Secp256k1Error)) return e;
  switch (e.reason) {
    case "malformed-signature":
    case "unrecoverable-signature":
      return new SignatureError(e.message, { cause: e });
    default:
      return new ValidationError(e.message, { cause: e });
  }
}

/**
 * Signs a 32-byte digest with a secp256k1 secret key: deterministic (RFC 6979), low-s, returned as
 * r ‖ s ‖ v. The digest is signed as is. `secp256k1` picks the implementation (default noble; every
 * implementation produces the same bytes). Throws `ValidationError` for a bad digest or key.
 */
export function signDigest(
  digest: Uint8Array,
  secretKey: Uint8Array,
  secp256k1: Secp256k1 = nobleSecp256k1,
): Uint8Array {
  try {
    return secp256k1.sign(digest, secretKey);
  } catch (e) {
    throw toCoreError(e);
  }
}

/**
 * Recovers the 20-byte address that produced `sig` over `digest`.
 * Throws `SignatureError` (with the reason) for a malformed signature: wrong length, r or s out of
 * range, high s (malleable form), v not 0/1, or r not the x coordinate of a curve point; and
 * `ValidationError` if `digest` is not 32 bytes.
 */
export function recoverAddressBytes(
  digest: Uint8Array,
  sig: Uint8Array,
  secp256k1: Secp256k1 = nobleSecp256k1,
): Uint8Array {
  let publicKey: Uint8Array;
  try {
    publicKey = secp256k1.recover(digest, sig);
  } catch (e) {
    throw toCoreError(e);
  }
  return publicKeyToAddress(publicKey);
}
