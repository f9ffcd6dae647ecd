import { sha3_256 } from "@noble/hashes/sha3.js";
import { bytesToBigint, concatBytes, ValidationError } from "@perun-ts/core";

/** Length in bytes of each side's nonce share. */
export const NONCE_SHARE_LENGTH = 32;

/** A fresh random nonce share from the platform's cryptographic RNG. */
export function randomNonceShare(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(NONCE_SHARE_LENGTH));
}

/**
 * The channel nonce both sides derive from their shares (spec §2.3):
 * `bigint(SHA3-256(proposerShare ‖ proposeeShare))` — FIPS SHA3, not keccak.
 *
 * @throws ValidationError if a share is not 32 bytes.
 */
export function channelNonce(proposerShare: Uint8Array, proposeeShare: Uint8Array): bigint {
  if (proposerShare.length !== NONCE_SHARE_LENGTH || proposeeShare.length !== NONCE_SHARE_LENGTH) {
    throw new ValidationError(`nonce shares must be ${NONCE_SHARE_LENGTH} bytes`);
  }
  return bytesToBigint(sha3_256(concatBytes(proposerShare, proposeeShare)));
}
