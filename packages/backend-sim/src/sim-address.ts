import { keccak_256 } from "@noble/hashes/sha3.js";
import { type Address, bytesEqual, compareBytes, DecodeError, toHex } from "@perun-ts/core";

/** Byte length of a sim address (like an Ethereum address). */
export const SIM_ADDRESS_LENGTH = 20;

/**
 * A sim participant address: the last 20 bytes of keccak256 over the 64-byte uncompressed
 * secp256k1 public key (X ‖ Y), exactly like an Ethereum address.
 */
export class SimAddress implements Address {
  readonly #raw: Uint8Array;

  private constructor(raw: Uint8Array) {
    this.#raw = raw;
  }

  /** Wraps 20 address bytes (copied); throws `DecodeError` for any other length. */
  static fromBytes(bytes: Uint8Array): SimAddress {
    if (!(bytes instanceof Uint8Array)) throw new DecodeError("sim address is not a byte array");
    if (bytes.length !== SIM_ADDRESS_LENGTH) {
      throw new DecodeError(`sim address must be ${SIM_ADDRESS_LENGTH} bytes, got ${bytes.length}`);
    }
    return new SimAddress(bytes.slice());
  }

  /**
   * The address of a secp256k1 public key, given uncompressed (65 bytes with the 0x04 prefix, or
   * the 64 bytes X ‖ Y).
   */
  static fromPublicKey(publicKey: Uint8Array): SimAddress {
    let xy: Uint8Array;
    if (publicKey.length === 65 && publicKey[0] === 0x04) xy = publicKey.subarray(1);
    else if (publicKey.length === 64) xy = publicKey;
    else throw new DecodeError("public key must be uncompressed (64 or 65 bytes with prefix 0x04)");
    return new SimAddress(keccak_256(xy).slice(12));
  }

  /** Parses `0x`-prefixed (or bare) hex of 20 bytes; throws `DecodeError`. */
  static fromHex(hex: string): SimAddress {
    const h = hex.startsWith("0x") || hex.startsWith("0X") ? hex.slice(2) : hex;
    if (!/^[0-9a-fA-F]{40}$/.test(h)) throw new DecodeError("sim address hex must be 40 hex digits");
    const out = new Uint8Array(SIM_ADDRESS_LENGTH);
    for (let i = 0; i < SIM_ADDRESS_LENGTH; i++) out[i] = Number.parseInt(h.slice(2 * i, 2 * i + 2), 16);
    return new SimAddress(out);
  }

  /** A copy of the 20 address bytes. */
  bytes(): Uint8Array {
    return this.#raw.slice();
  }

  /** True iff the 20 address bytes equal `bytes` (no copy, unlike comparing with `bytes()`). */
  hasBytes(bytes: Uint8Array): boolean {
    return bytesEqual(this.#raw, bytes);
  }

  /** Byte-wise equality with any address (a foreign address type compares by its bytes). */
  equals(other: Address): boolean {
    if (other instanceof SimAddress) return bytesEqual(this.#raw, other.#raw);
    return bytesEqual(this.#raw, other.bytes());
  }

  /** Lexicographic byte order; consistent with `equals`. */
  compare(other: Address): number {
    return compareBytes(this.#raw, other instanceof SimAddress ? other.#raw : other.bytes());
  }

  /** Lower-case `0x`-hex of the 20 bytes. */
  toString(): string {
    return `0x${toHex(this.#raw)}`;
  }

  toJSON(): string {
    return this.toString();
  }
}
