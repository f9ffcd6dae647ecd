import type {
  Account,
  Address,
  ChannelBackend,
  ChannelId,
  ParamsInit,
  Signature,
  State,
} from "@perun-ts/core";
import { channelIdOf, encodeState, hashState } from "./encoding.js";
import { EthAddress } from "./eth-address.js";
import { EthAsset } from "./eth-asset.js";
import { ETH_SIGNATURE_LENGTH, eip191Digest, recoverSigner } from "./signature.js";

/**
 * The Ethereum channel backend: ids, state signatures and decoders byte-exact with the Perun
 * contracts (spec-eth §2). A state signature is EIP-191 over keccak256(abi.encode(state)), v = 27/28.
 * Stateless: one instance can be shared.
 */
export class EthChannelBackend implements ChannelBackend {
  readonly signatureLength = ETH_SIGNATURE_LENGTH;

  /** keccak256 of the single-tuple ABI encoding of the parameters (= the contract's `channelID`). */
  calcId(params: ParamsInit): ChannelId {
    return channelIdOf(params);
  }

  /** `account.signData(abi.encode(state))`: the account hashes and applies EIP-191. */
  sign(account: Account, state: State): Promise<Signature> {
    return account.signData(encodeState(state));
  }

  /** False for another signer or state; `SignatureError` for a malformed signature (length, s, v, r). */
  async verify(signer: Address, state: State, sig: Signature): Promise<boolean> {
    const recovered = recoverSigner(eip191Digest(hashState(state)), sig);
    return EthAddress.fromBytes(recovered).equals(signer);
  }

  decodeAddress(bytes: Uint8Array): EthAddress {
    return EthAddress.fromBytes(bytes);
  }

  decodeAsset(bytes: Uint8Array): EthAsset {
    return EthAsset.fromBytes(bytes);
  }
}
