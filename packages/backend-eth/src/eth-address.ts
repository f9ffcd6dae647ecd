import { type Address, bytesEqual, compareBytes, DecodeError, toHex } from "@perun-ts/core";

/** Byte length of an Ethereum address. */
export const ETH_ADDRESS_LENGTH = 20;

/** A `0x`-prefixed hex string, as viem expects it. */
export type Hex = `0x${string}`;

/**
 * A 20-byte Ethereum address (participant, receiver, contract). Equality and order are byte-wise,
 * so it compares equal to any other `Address` implementation with the same 20 bytes.
 */
export class EthAddress implements Address {
  readonly #raw: Uint8Array;
  #hex: Hex | undefined;

  private constructor(raw: Uint8Array) {
    this.#raw = raw;
  }

  /** Wraps 20 bytes (copied); throws `DecodeError` for any other length. */
  static fromBytes(bytes: Uint8Array): EthAddress {
    if (!(bytes instanceof Uint8Array)) throw new DecodeError("eth address is not a byte array");
    if (bytes.length !== ETH_ADDRESS_LENGTH) {
      throw new DecodeError(`eth address must be ${ETH_ADDRESS_LENGTH} bytes, got ${bytes.length}`);
    }
    return new EthAddress(bytes.slice());
  }

  /** Parses `0x`-prefixed (or bare) hex of 20 bytes, any letter case; throws `DecodeError`. */
  static fromHex(hex: string): EthAddress {
    const h = hex.startsWith("0x") || hex.startsWith("0X") ? hex.slice(2) : hex;
    if (!/^[0-9a-fA-F]{40}$/.test(h)) throw new DecodeError("eth address hex must be 40 hex digits");
    const out = new Uint8Array(ETH_ADDRESS_LENGTH);
    for (let i = 0; i < ETH_ADDRESS_LENGTH; i++) out[i] = Number.parseInt(h.slice(2 * i, 2 * i + 2), 16);
    return new EthAddress(out);
  }

  /** Any `Address` whose encoding is 20 bytes, as an `EthAddress`; throws `DecodeError` otherwise. */
  static from(address: Address): EthAddress {
    return address instanceof EthAddress ? address : EthAddress.fromBytes(address.bytes());
  }

  /** The zero address (no app). */
  static zero(): EthAddress {
    return new EthAddress(new Uint8Array(ETH_ADDRESS_LENGTH));
  }

  /** A copy of the 20 bytes. */
  bytes(): Uint8Array {
    return this.#raw.slice();
  }

  /** Lower-case `0x` hex, the form viem takes. */
  get hex(): Hex {
    this.#hex ??= `0x${toHex(this.#raw)}`;
    return this.#hex;
  }

  isZero(): boolean {
    return this.#raw.every((b) => b === 0);
  }

  equals(other: Address): boolean {
    if (other instanceof EthAddress) return bytesEqual(this.#raw, other.#raw);
    return bytesEqual(this.#raw, other.bytes());
  }

  /** True if `bytes` are exactly this address's 20 bytes (no copy; for hot paths like `verify`). */
  equalsBytes(bytes: Uint8Array): boolean {
    return bytesEqual(this.#raw, bytes);
  }

  compare(other: Address): number {
    return compareBytes(this.#raw, other instanceof EthAddress ? other.#raw : other.bytes());
  }

  toString(): string {
    return this.hex;
  }

  toJSON(): string {
    return this.hex;
  }
}

/** The 20 bytes of any core `Address` as viem hex; throws `DecodeError` if it is not 20 bytes. */
export function addressHex(address: Address): Hex {
  return EthAddress.from(address).hex;
}
