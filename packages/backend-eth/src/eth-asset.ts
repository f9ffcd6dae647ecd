import { type Asset, bytesEqual, DecodeError } from "@perun-ts/core";
import { EthAddress, type Hex } from "./eth-address.js";

/**
 * An Ethereum channel asset: the address of its asset-holder contract (spec-eth §1: the asset is
 * the holder, not the token). Encoded as the holder's 20 address bytes, as in the on-chain state.
 */
export class EthAsset implements Asset {
  readonly holder: EthAddress;

  constructor(holder: EthAddress | string) {
    this.holder = typeof holder === "string" ? EthAddress.fromHex(holder) : holder;
  }

  /** Decodes 20 bytes; throws `DecodeError` otherwise. */
  static fromBytes(bytes: Uint8Array): EthAsset {
    return new EthAsset(EthAddress.fromBytes(bytes));
  }

  /** Any core `Asset` whose encoding is 20 bytes, as an `EthAsset`; throws `DecodeError` otherwise. */
  static from(asset: Asset): EthAsset {
    if (asset instanceof EthAsset) return asset;
    const b = asset.bytes();
    if (b.length !== 20) throw new DecodeError(`eth asset must be 20 bytes, got ${b.length}`);
    return EthAsset.fromBytes(b);
  }

  /** The holder address as viem hex. */
  get hex(): Hex {
    return this.holder.hex;
  }

  bytes(): Uint8Array {
    return this.holder.bytes();
  }

  equals(other: Asset): boolean {
    if (other instanceof EthAsset) return this.holder.equals(other.holder);
    return bytesEqual(this.holder.bytes(), other.bytes());
  }

  toString(): string {
    return `eth-asset:${this.holder.hex}`;
  }

  toJSON(): string {
    return this.toString();
  }
}
