import { keccak_256 } from "@noble/hashes/sha3.js";
import { PUBLIC_KEY_LENGTH } from "./secp256k1.js";

/** keccak256 (the Ethereum hash, not NIST SHA3-256) of `data`: 32 bytes. */
export function keccak256(data: Uint8Array): Uint8Array {
  return keccak_256(data);
}

/**
 * The 20-byte Ethereum-style address of an uncompressed public key: the last 20 bytes of
 * keccak256(X ‖ Y). Takes the 65-byte form (0x04 ‖ X ‖ Y) that every {@link Secp256k1} returns;
 * anything else is a programming error and throws a `TypeError`.
 */
export function publicKeyToAddress(publicKey: Uint8Array): Uint8Array {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_LENGTH || publicKey[0] !== 0x04) {
    throw new TypeError(`public key must be ${PUBLIC_KEY_LENGTH} bytes uncompressed (0x04 ‖ X ‖ Y)`);
  }
  return keccak_256(publicKey.subarray(1)).slice(12);
}
