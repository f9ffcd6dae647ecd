/** An asset held on chain (an asset holder contract on Ethereum, a numeric id in the sim backend). */
export interface Asset {
  /** Canonical bytes, decodable by the backend's `decodeAsset`. */
  bytes(): Uint8Array;
  equals(other: Asset): boolean;
  toString(): string;
}
