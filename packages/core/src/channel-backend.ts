import type { Asset } from "./asset.js";
import type { Account, Address, Signature } from "./identity.js";
import type { ChannelIdCalculator } from "./params.js";
import type { State } from "./state.js";

/**
 * What a chain family provides to the protocols: ids, state signatures and decoders for its
 * address and asset formats. One object per backend, passed in (no global registration).
 */
export interface ChannelBackend extends ChannelIdCalculator {
  /** Fixed length of every signature of this backend (sim 65, eth 65). */
  readonly signatureLength: number;
  /** Signs `state` (backend-defined encoding of the whole state). */
  sign(account: Account, state: State): Promise<Signature>;
  /**
   * True iff `sig` is `signer`'s signature on `state`; false for another signer or another state.
   * Throws `SignatureError` only for malformed signatures (wrong length, invalid encoding).
   */
  verify(signer: Address, state: State, sig: Signature): Promise<boolean>;
  /** Throws `DecodeError` for bytes that are not an address of this backend. */
  decodeAddress(bytes: Uint8Array): Address;
  /** Throws `DecodeError` for bytes that are not an asset of this backend. */
  decodeAsset(bytes: Uint8Array): Asset;
}
