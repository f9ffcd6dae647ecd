import { DIGEST_LENGTH, SECRET_KEY_LENGTH, SIGNATURE_LENGTH } from "./secp256k1.js";
import { Secp256k1Error } from "./secp256k1-error.js";

/** The order n of the secp256k1 group. */
export const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

function be32(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}

// Compared byte-wise (no bigint parsing): these checks run on every recover of the native path.
const ORDER_BYTES = be32(CURVE_ORDER);
const HALF_ORDER_BYTES = be32(CURVE_ORDER >> 1n);

/** Sign of (bytes[offset..offset+32) − bound), big-endian. */
function compare32(bytes: Uint8Array, offset: number, bound: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const d = (bytes[offset + i] as number) - (bound[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

function isZero32(bytes: Uint8Array, offset: number): boolean {
  for (let i = 0; i < 32; i++) if (bytes[offset + i] !== 0) return false;
  return true;
}

/** True iff `secretKey` is a 32-byte `Uint8Array` holding a scalar in 1..n-1. */
export function isValidSecretKey(secretKey: unknown): secretKey is Uint8Array {
  return (
    secretKey instanceof Uint8Array &&
    secretKey.length === SECRET_KEY_LENGTH &&
    !isZero32(secretKey, 0) &&
    compare32(secretKey, 0, ORDER_BYTES) < 0
  );
}

/** Throws `Secp256k1Error("invalid-secret-key")` unless {@link isValidSecretKey}. */
export function assertSecretKey(secretKey: unknown): asserts secretKey is Uint8Array {
  if (!isValidSecretKey(secretKey)) {
    throw new Secp256k1Error(
      "invalid-secret-key",
      `not a valid secp256k1 secret key (${SECRET_KEY_LENGTH} bytes, 1..n-1)`,
    );
  }
}

/**
 * `digest` reduced modulo n, as 32 bytes (the same array when it is already below n). RFC 6979
 * derives the nonce from the reduced digest; the libsecp256k1 in `secp256k1@5` feeds the raw bytes
 * to its nonce function, so the native signer reduces first to match noble byte for byte.
 */
export function reduceDigest(digest: Uint8Array): Uint8Array {
  if (compare32(digest, 0, ORDER_BYTES) < 0) return digest;
  let x = 0n;
  for (const b of digest) x = (x << 8n) | BigInt(b);
  return be32(x - CURVE_ORDER);
}

/** Throws `Secp256k1Error("invalid-digest")` unless `digest` is a 32-byte `Uint8Array`. */
export function assertDigest(digest: unknown): asserts digest is Uint8Array {
  if (!(digest instanceof Uint8Array))
    throw new Secp256k1Error("invalid-digest", "digest is not a byte array");
  if (digest.length !== DIGEST_LENGTH) {
    throw new Secp256k1Error("invalid-digest", `digest must be ${DIGEST_LENGTH} bytes, got ${digest.length}`);
  }
}

function malformed(message: string): Secp256k1Error {
  return new Secp256k1Error("malformed-signature", message);
}

/**
 * Checks the form of r ‖ s ‖ v and returns v; throws `Secp256k1Error("malformed-signature")` with the
 * reason in the message. Shared by all implementations so that they reject exactly the same inputs.
 */
export function checkSignature(sig: unknown): 0 | 1 {
  if (!(sig instanceof Uint8Array)) throw malformed("signature is not a byte array");
  if (sig.length !== SIGNATURE_LENGTH) {
    throw malformed(`signature must be ${SIGNATURE_LENGTH} bytes, got ${sig.length}`);
  }
  if (isZero32(sig, 0) || compare32(sig, 0, ORDER_BYTES) >= 0) throw malformed("signature r is out of range");
  if (isZero32(sig, 32) || compare32(sig, 32, ORDER_BYTES) >= 0)
    throw malformed("signature s is out of range");
  if (compare32(sig, 32, HALF_ORDER_BYTES) > 0) {
    throw malformed("signature s is in the upper half (non-canonical)");
  }
  const v = sig[64] as number;
  if (v !== 0 && v !== 1) throw malformed(`signature v must be 0 or 1, got ${v}`);
  return v;
}

/** The error every implementation throws when a well-formed signature recovers to no key. */
export function unrecoverable(cause: unknown): Secp256k1Error {
  return new Secp256k1Error("unrecoverable-signature", "signature does not recover to a public key", {
    cause,
  });
}
