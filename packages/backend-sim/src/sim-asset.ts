import { type Asset, bytesEqual, DecodeError, MAX_UINT64, ValidationError } from "@perun-ts/core";

/** Byte length of an encoded sim asset: its id as a big-endian u64. */
export const SIM_ASSET_LENGTH = 8;

/** A sim asset: a numeric id in 0..2^64-1, encoded as 8 bytes big-endian. */
export class SimAsset implements Asset {
  readonly id: bigint;
  readonly #raw: Uint8Array;

  /** Throws `ValidationError` if `id` is not a bigint in 0..2^64-1. */
  constructor(id: bigint) {
    if (typeof id !== "bigint" || id < 0n || id > MAX_UINT64) {
      throw new ValidationError("sim asset id must be a bigint in 0..2^64-1");
    }
    this.id = id;
    const raw = new Uint8Array(SIM_ASSET_LENGTH);
    new DataView(raw.buffer).setBigUint64(0, id, false);
    this.#raw = raw;
  }

  /** Decodes 8 big-endian bytes; throws `DecodeError` for any other length. */
  static fromBytes(bytes: Uint8Array): SimAsset {
    if (!(bytes instanceof Uint8Array)) throw new DecodeError("sim asset is not a byte array");
    if (bytes.length !== SIM_ASSET_LENGTH) {
      throw new DecodeError(`sim asset must be ${SIM_ASSET_LENGTH} bytes, got ${bytes.length}`);
    }
    return new SimAsset(
      new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, false),
    );
  }

  /** A copy of the 8-byte encoding. */
  bytes(): Uint8Array {
    return this.#raw.slice();
  }

  equals(other: Asset): boolean {
    if (other instanceof SimAsset) return other.id === this.id;
    return bytesEqual(this.#raw, other.bytes());
  }

  toString(): string {
    return `sim-asset:${this.id}`;
  }

  toJSON(): string {
    return this.toString();
  }
}
