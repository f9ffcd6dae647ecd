import { keccak_256 } from "@noble/hashes/sha3.js";
import {
  type Account,
  type Address,
  bytesEqual,
  type ChannelBackend,
  type ChannelId,
  type ParamsInit,
  type Signature,
  type State,
  toHex,
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
  readonly #recovered = new Map<string, Uint8Array>();
  readonly #cacheSize: number;

  /**
   * `secp256k1` recovers signers in `verify` (default noble). Signing uses the account's own
   * implementation; all implementations give the same bytes. `recoveryCacheSize` (default 1,024;
   * 0 disables) bounds the memo of recent (digest, signature) → signer results, so a signature
   * checked again (sync, watcher hand-over, sub-channel funding) costs no second recovery.
   */
  constructor(opts: EthSignerOptions & { readonly recoveryCacheSize?: number } = {}) {
    this.#secp256k1 = opts.secp256k1 ?? nobleSecp256k1;
    this.#cacheSize = opts.recoveryCacheSize ?? 1_024;
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
   * At most one public-key recovery per (state, signature); the signer is compared byte-wise.
   */
  async verify(signer: Address, state: State, sig: Signature): Promise<boolean> {
    const recovered = this.#recover(eip191Digest(hashState(state)), sig);
    return signer instanceof EthAddress
      ? signer.equalsBytes(recovered)
      : bytesEqual(recovered, signer.bytes());
  }

  /**
   * True iff `sig` is `signer`'s signature on `data` as made by `EthAccount.signData`
   * (EIP-191 over keccak256(data)) — e.g. the wire handshake's proof of a NetBus identity.
   * Throws `SignatureError` for a malformed signature, like `verify`.
   */
  verifyData(signer: Address, data: Uint8Array, sig: Signature): boolean {
    const recovered = recoverSigner(eip191Digest(keccak_256(data)), sig, this.#secp256k1);
    return signer instanceof EthAddress
      ? signer.equalsBytes(recovered)
      : bytesEqual(recovered, signer.bytes());
  }

  #recover(digest: Uint8Array, sig: Signature): Uint8Array {
    if (this.#cacheSize === 0 || !(sig instanceof Uint8Array))
      return recoverSigner(digest, sig, this.#secp256k1);
    const key = toHex(digest) + toHex(sig);
    const hit = this.#recovered.get(key);
    if (hit) return hit;
    const recovered = recoverSigner(digest, sig, this.#secp256k1); // throws for malformed: not cached
    if (this.#recovered.size >= this.#cacheSize) {
      // evict the oldest entry (Map keeps insertion order)
      const oldest = this.#recovered.keys().next();
      if (!oldest.done) this.#recovered.delete(oldest.value);
    }
    this.#recovered.set(key, recovered);
    return recovered;
  }

  decodeAddress(bytes: Uint8Array): EthAddress {
    return EthAddress.fromBytes(bytes);
  }

  decodeAsset(bytes: Uint8Array): EthAsset {
    return EthAsset.fromBytes(bytes);
  }
}
