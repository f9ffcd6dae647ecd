import {
  type Account,
  type Address,
  bytesEqual,
  type ChannelBackend,
  type ChannelId,
  type ParamsInit,
  type Signature,
  type State,
} from "@perun-ts/core";
import { nobleSecp256k1, type Secp256k1 } from "@perun-ts/secp256k1";
import { channelIdOf, encodeState, hashState } from "./encoding.js";
import { EthAddress } from "./eth-address.js";
import { EthAsset } from "./eth-asset.js";
import { ETH_SIGNATURE_LENGTH, type EthSignerOptions, eip191Digest, recoverSigner } from "./signature.js";

/**
 * The Ethereum channel backend: ids, state signatures and decoders byte-exact with the Perun
 * contracts (spec-eth §2). A state signature is EIP-191 over keccak256(abi.encode(state)), v = 27/28.
 * Stateless apart from its secp256k1 choice: one instance can be shared.
 *
 * @example
 * const backend = new EthChannelBackend(); // noble
 * const fast = new EthChannelBackend({ secp256k1: selectSecp256k1({ prefer: "native", logger }) });
 */
export class EthChannelBackend implements ChannelBackend {
  readonly signatureLength = ETH_SIGNATURE_LENGTH;
  readonly #secp256k1: Secp256k1;

  /**
   * `secp256k1` recovers signers in `verify` (default noble). Signing uses the account's own
   * implementation; all implementations give the same bytes.
   */
  constructor(opts: EthSignerOptions = {}) {
    this.#secp256k1 = opts.secp256k1 ?? nobleSecp256k1;
  }

  /** The secp256k1 implementation `verify` uses. */
  get secp256k1(): Secp256k1 {
    return this.#secp256k1;
  }

  /** keccak256 of the single-tuple ABI encoding of the parameters (= the contract's `channelID`). */
  calcId(params: ParamsInit): ChannelId {
    return channelIdOf(params);
  }

  /** `account.signData(abi.encode(state))`: the account hashes and applies EIP-191. */
  sign(account: Account, state: State): Promise<Signature> {
    return account.signData(encodeState(state));
  }

  /**
   * False for another signer or state; `SignatureError` for a malformed signature (length, s, v, r).
   * One public-key recovery per call; the signer is compared byte-wise without copies.
   */
  async verify(signer: Address, state: State, sig: Signature): Promise<boolean> {
    const recovered = recoverSigner(eip191Digest(hashState(state)), sig, this.#secp256k1);
    return signer instanceof EthAddress
      ? signer.equalsBytes(recovered)
      : bytesEqual(recovered, signer.bytes());
  }

  decodeAddress(bytes: Uint8Array): EthAddress {
    return EthAddress.fromBytes(bytes);
  }

  decodeAsset(bytes: Uint8Array): EthAsset {
    return EthAsset.fromBytes(bytes);
  }
}
