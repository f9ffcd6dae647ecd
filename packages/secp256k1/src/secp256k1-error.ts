/**
 * Why a {@link Secp256k1Error} was thrown:
 * - `invalid-digest`: the digest is not a 32-byte `Uint8Array`;
 * - `invalid-secret-key`: not a 32-byte `Uint8Array` holding a scalar in 1..n-1;
 * - `malformed-signature`: not 65 bytes, r or s out of 1..n-1, s in the upper half, or v ∉ {0, 1};
 * - `unrecoverable-signature`: well formed, but no public key recovers from it (r is not the x
 *   coordinate of a curve point, or the result is the point at infinity).
 */
export type Secp256k1ErrorReason =
  | "invalid-digest"
  | "invalid-secret-key"
  | "malformed-signature"
  | "unrecoverable-signature";

/**
 * Invalid input to a {@link Secp256k1} implementation. Every implementation throws this class with
 * the same `reason` for the same input, so callers can map it to their own error types.
 */
export class Secp256k1Error extends Error {
  override readonly name = "Secp256k1Error";

  constructor(
    readonly reason: Secp256k1ErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
