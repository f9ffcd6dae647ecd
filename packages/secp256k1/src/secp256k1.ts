/** Length of a digest to sign: 32 bytes (keccak256 or any other 256-bit hash). */
export const DIGEST_LENGTH = 32;
/** Length of a secret key: 32 bytes, big-endian scalar in 1..n-1. */
export const SECRET_KEY_LENGTH = 32;
/** Length of a recoverable signature r ‖ s ‖ v. */
export const SIGNATURE_LENGTH = 65;
/** Length of an uncompressed public key 0x04 ‖ X ‖ Y. */
export const PUBLIC_KEY_LENGTH = 65;

/**
 * Recoverable secp256k1 ECDSA over a 32-byte digest, the only crypto a perun-ts backend needs
 * per update. Every implementation must be byte-for-byte interchangeable:
 *
 * - `sign` is deterministic (RFC 6979, no extra entropy) and low-s, and returns 65 bytes
 *   r (32, big-endian) ‖ s (32) ‖ v (1) with v ∈ {0, 1} (the parity of R.y; Ethereum's 27/28 minus 27);
 * - `recover` returns the signer's **uncompressed 65-byte public key** (0x04 ‖ X ‖ Y). Callers that
 *   want an Ethereum-style address hash it with {@link publicKeyToAddress}; we return the key rather
 *   than the address so that non-Ethereum backends can use it too (the hash costs ~6 µs);
 * - `publicKey` returns the same 65-byte uncompressed encoding.
 *
 * The digest is signed as given (no hashing inside). Invalid input throws a {@link Secp256k1Error}
 * whose `reason` is the same for every implementation: wrong lengths or non-byte input, a secret key
 * outside 1..n-1, r or s outside 1..n-1, a high s (s > n/2, the malleable twin), v ∉ {0, 1}, or a
 * signature from which no public key can be recovered.
 */
export interface Secp256k1 {
  /** Which implementation this is (`"noble"`, `"native"`, …), for logs and benchmark reports. */
  readonly name: string;
  /** Signs a 32-byte digest: r ‖ s ‖ v, deterministic, low-s. */
  sign(digest: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** The uncompressed public key (65 bytes) that produced `signature` over `digest`. */
  recover(digest: Uint8Array, signature: Uint8Array): Uint8Array;
  /** The uncompressed public key (65 bytes) of a secret key. */
  publicKey(secretKey: Uint8Array): Uint8Array;
}
