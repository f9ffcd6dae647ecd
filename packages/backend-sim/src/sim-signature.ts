import { secp256k1 } from "@noble/curves/secp256k1.js";
import { bytesToNumberBE } from "@noble/curves/utils.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { SignatureError } from "@perun-ts/core";

/** Length of a sim signature: r (32) ‖ s (32) ‖ v (1), v ∈ {0, 1}. */
export const SIM_SIGNATURE_LENGTH = 65;

const CURVE_ORDER = secp256k1.Point.CURVE().n;
const HALF_ORDER = CURVE_ORDER >> 1n;

/** The digest a sim account signs for `data`: keccak256(data). */
export function simDigest(data: Uint8Array): Uint8Array {
  return keccak_256(data);
}

/**
 * Signs a 32-byte digest with a secp256k1 secret key: deterministic (RFC 6979), low-s,
 * returned as r ‖ s ‖ v. The digest is signed as is (`prehash: false`).
 */
export function signDigest(digest: Uint8Array, secretKey: Uint8Array): Uint8Array {
  // noble's "recovered" format is v ‖ r ‖ s; we store v last like Ethereum.
  const rec = secp256k1.sign(digest, secretKey, { prehash: false, lowS: true, format: "recovered" });
  const out = new Uint8Array(SIM_SIGNATURE_LENGTH);
  out.set(rec.subarray(1), 0);
  out[64] = rec[0] as number;
  return out;
}

/**
 * Recovers the 20-byte address that produced `sig` over `digest`.
 * Throws `SignatureError` (with the reason) for a malformed signature: wrong length, r or s out of
 * range, high s (malleable form), v not 0/1, or r not the x coordinate of a curve point.
 */
export function recoverAddressBytes(digest: Uint8Array, sig: Uint8Array): Uint8Array {
  if (!(sig instanceof Uint8Array)) throw new SignatureError("signature is not a byte array");
  if (sig.length !== SIM_SIGNATURE_LENGTH) {
    throw new SignatureError(`signature must be ${SIM_SIGNATURE_LENGTH} bytes, got ${sig.length}`);
  }
  const r = bytesToNumberBE(sig.subarray(0, 32));
  const s = bytesToNumberBE(sig.subarray(32, 64));
  const v = sig[64] as number;
  if (r === 0n || r >= CURVE_ORDER) throw new SignatureError("signature r is out of range");
  if (s === 0n || s >= CURVE_ORDER) throw new SignatureError("signature s is out of range");
  if (s > HALF_ORDER) throw new SignatureError("signature s is in the upper half (non-canonical)");
  if (v !== 0 && v !== 1) throw new SignatureError(`signature v must be 0 or 1, got ${v}`);
  let publicKey: Uint8Array;
  try {
    publicKey = new secp256k1.Signature(r, s, v).recoverPublicKey(digest).toBytes(false);
  } catch (cause) {
    throw new SignatureError("signature does not recover to a public key", { cause });
  }
  return keccak_256(publicKey.subarray(1)).slice(12);
}
