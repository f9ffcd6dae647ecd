import { secp256k1 } from "@noble/curves/secp256k1.js";
import { bytesToNumberBE } from "@noble/curves/utils.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { SignatureError } from "@perun-ts/core";

/** Length of an Ethereum signature: r (32) ‖ s (32) ‖ v (1), v ∈ {27, 28}. */
export const ETH_SIGNATURE_LENGTH = 65;

const CURVE_ORDER = secp256k1.Point.CURVE().n;
const HALF_ORDER = CURVE_ORDER >> 1n;
const PREFIX = new TextEncoder().encode("\x19Ethereum Signed Message:\n32");

/** The EIP-191 personal-message digest of a 32-byte hash: keccak256("\x19Ethereum Signed Message:\n32" ‖ hash). */
export function eip191Digest(hash32: Uint8Array): Uint8Array {
  if (hash32.length !== 32) throw new SignatureError("EIP-191 input must be a 32-byte hash");
  const buf = new Uint8Array(PREFIX.length + 32);
  buf.set(PREFIX, 0);
  buf.set(hash32, PREFIX.length);
  return keccak_256(buf);
}

/** Signs a digest as is (`prehash: false`): deterministic, low-s, r ‖ s ‖ v with v = 27/28. */
export function signDigest(digest: Uint8Array, secretKey: Uint8Array): Uint8Array {
  // noble's "recovered" format is recovery ‖ r ‖ s.
  const rec = secp256k1.sign(digest, secretKey, { prehash: false, lowS: true, format: "recovered" });
  const out = new Uint8Array(ETH_SIGNATURE_LENGTH);
  out.set(rec.subarray(1), 0);
  out[64] = (rec[0] as number) + 27;
  return out;
}

/**
 * The 20-byte address that signed `digest`. Throws `SignatureError` for what the contracts reject
 * as malformed: wrong length, r/s out of range, high s, v ∉ {27, 28}, r not on the curve.
 */
export function recoverSigner(digest: Uint8Array, sig: Uint8Array): Uint8Array {
  if (!(sig instanceof Uint8Array)) throw new SignatureError("signature is not a byte array");
  if (sig.length !== ETH_SIGNATURE_LENGTH) {
    throw new SignatureError(`signature must be ${ETH_SIGNATURE_LENGTH} bytes, got ${sig.length}`);
  }
  const r = bytesToNumberBE(sig.subarray(0, 32));
  const s = bytesToNumberBE(sig.subarray(32, 64));
  const v = sig[64] as number;
  if (r === 0n || r >= CURVE_ORDER) throw new SignatureError("signature r is out of range");
  if (s === 0n || s >= CURVE_ORDER) throw new SignatureError("signature s is out of range");
  if (s > HALF_ORDER) throw new SignatureError("signature s is in the upper half (non-canonical)");
  if (v !== 27 && v !== 28) throw new SignatureError(`signature v must be 27 or 28, got ${v}`);
  let publicKey: Uint8Array;
  try {
    publicKey = new secp256k1.Signature(r, s, v - 27).recoverPublicKey(digest).toBytes(false);
  } catch (cause) {
    throw new SignatureError("signature does not recover to a public key", { cause });
  }
  return keccak_256(publicKey.subarray(1)).slice(12);
}

/** The address of a secret key (last 20 bytes of keccak256 of the uncompressed public key). */
export function addressOfSecretKey(secretKey: Uint8Array): Uint8Array {
  return keccak_256(secp256k1.getPublicKey(secretKey, false).subarray(1)).slice(12);
}

/** True if `secretKey` is a valid secp256k1 secret key (32 bytes, 1..n-1). */
export function isValidSecretKey(secretKey: Uint8Array): boolean {
  return secretKey instanceof Uint8Array && secp256k1.utils.isValidSecretKey(secretKey);
}

/** A fresh random secret key from the platform CSPRNG. */
export function randomSecretKey(): Uint8Array {
  return secp256k1.utils.randomSecretKey();
}
