import { sha256 } from "@noble/hashes/sha2.js";
import {
  type Account,
  type Address,
  type Asset,
  bytesEqual,
  type ChannelBackend,
  type ChannelId,
  encodeState,
  MAX_NONCE,
  MAX_PARTS,
  MAX_UINT64,
  type ParamsInit,
  type Signature,
  SignatureError,
  type State,
  toHex,
  uintToWire,
  ValidationError,
} from "@perun-ts/core";
import { SIM_ADDRESS_LENGTH, SimAddress } from "./sim-address.js";
import { SimAsset } from "./sim-asset.js";
import {
  nobleSecp256k1,
  recoverAddressBytes,
  type Secp256k1,
  SIM_SIGNATURE_LENGTH,
  simDigest,
} from "./sim-signature.js";

const TEXT = new TextEncoder();

/** How many distinct decoded addresses a backend keeps for sharing (beyond that, fresh objects). */
const MAX_SHARED_ADDRESSES = 4096;

/** Domain tag prefixed to the params encoding hashed into a channel id. */
export const SIM_PARAMS_DOMAIN = TEXT.encode("perun-ts/backend-sim/params/v1\0");
/** Domain tag prefixed to `encodeState(state)` before a state is signed. */
export const SIM_STATE_DOMAIN = TEXT.encode("perun-ts/backend-sim/state/v1\0");

/**
 * The deterministic encoding of channel parameters whose SHA-256 is the sim channel id:
 *
 * ```
 * SIM_PARAMS_DOMAIN
 * ‖ u64be(challengeDuration)
 * ‖ u16be(n) ‖ n × (u16be(len) ‖ address bytes)
 * ‖ u8(len) ‖ nonce (minimal big-endian magnitude, ≤ 32 bytes)
 * ‖ 0x00 (no app) | 0x01 ‖ u16be(len) ‖ app definition bytes
 * ‖ u8(ledgerChannel) ‖ u8(virtualChannel)
 * ```
 *
 * Throws `ValidationError` for values that cannot be encoded (out-of-range numbers, too many parts).
 */
export function simParamsEncoding(p: ParamsInit): Uint8Array {
  if (
    typeof p.challengeDuration !== "bigint" ||
    p.challengeDuration < 0n ||
    p.challengeDuration > MAX_UINT64
  ) {
    throw new ValidationError("challenge duration must be a bigint in 0..2^64-1");
  }
  if (typeof p.nonce !== "bigint" || p.nonce < 0n || p.nonce > MAX_NONCE) {
    throw new ValidationError("nonce must be a bigint of at most 32 bytes");
  }
  if (p.parts.length > MAX_PARTS) throw new ValidationError(`more than ${MAX_PARTS} participants`);
  const parts = p.parts.map((a) => a.bytes());
  const nonce = uintToWire(p.nonce);
  const def = p.app.def === null ? null : p.app.def.bytes();
  for (const b of [...parts, ...(def ? [def] : [])]) {
    if (b.length > 0xffff) throw new ValidationError("address encoding longer than 65535 bytes");
  }
  let len = SIM_PARAMS_DOMAIN.length + 8 + 2 + 1 + nonce.length + 1 + 2;
  for (const b of parts) len += 2 + b.length;
  if (def) len += 2 + def.length;
  const out = new Uint8Array(len);
  const view = new DataView(out.buffer);
  out.set(SIM_PARAMS_DOMAIN, 0);
  let o = SIM_PARAMS_DOMAIN.length;
  view.setBigUint64(o, p.challengeDuration, false);
  o += 8;
  view.setUint16(o, parts.length, false);
  o += 2;
  for (const b of parts) {
    view.setUint16(o, b.length, false);
    out.set(b, o + 2);
    o += 2 + b.length;
  }
  out[o++] = nonce.length;
  out.set(nonce, o);
  o += nonce.length;
  if (def) {
    out[o++] = 1;
    view.setUint16(o, def.length, false);
    out.set(def, o + 2);
    o += 2 + def.length;
  } else {
    out[o++] = 0;
  }
  out[o++] = p.ledgerChannel ? 1 : 0;
  out[o++] = p.virtualChannel ? 1 : 0;
  return out;
}

/** The bytes a sim account signs for `state`: `SIM_STATE_DOMAIN ‖ encodeState(state)`. */
export function simStateSigningPayload(state: State): Uint8Array {
  const enc = encodeState(state);
  const out = new Uint8Array(SIM_STATE_DOMAIN.length + enc.length);
  out.set(SIM_STATE_DOMAIN, 0);
  out.set(enc, SIM_STATE_DOMAIN.length);
  return out;
}

/**
 * The sim `ChannelBackend`: channel id = SHA-256 of {@link simParamsEncoding}; a state signature
 * is a 65-byte recoverable secp256k1 signature r ‖ s ‖ v over keccak256(`SIM_STATE_DOMAIN ‖
 * encodeState(state)`); addresses are {@link SimAddress}es and assets {@link SimAsset}s.
 *
 * @example
 * const backend = new SimChannelBackend();
 * const params = Params.create({ challengeDuration: 60n, parts, app: noApp, nonce: 1n,
 *   ledgerChannel: true, virtualChannel: false }, backend);
 * const sig = await backend.sign(account, state);
 * await backend.verify(account.address, state, sig); // true
 *
 * // the native libsecp256k1 verifier (falls back to noble with a warning if it cannot load):
 * const fast = new SimChannelBackend({ secp256k1: selectSecp256k1({ prefer: "native", logger }) });
 */
export class SimChannelBackend implements ChannelBackend {
  readonly signatureLength = SIM_SIGNATURE_LENGTH;
  readonly #secp256k1: Secp256k1;
  /**
   * Decoded addresses by hex: every channel with the same peer (restored, or opened from decoded
   * messages) shares one immutable object instead of holding its own copy. Bounded.
   */
  readonly #addresses = new Map<string, SimAddress>();

  /**
   * `secp256k1` is the implementation that recovers signers in `verify` (default noble). Signing
   * uses the account's own implementation; both give the same bytes.
   */
  constructor(opts: { secp256k1?: Secp256k1 } = {}) {
    this.#secp256k1 = opts.secp256k1 ?? nobleSecp256k1;
  }

  calcId(params: ParamsInit): ChannelId {
    return sha256(simParamsEncoding(params));
  }

  /** Signs the state through `account.signData` (any `Account` that signs keccak256 of its input). */
  async sign(account: Account, state: State): Promise<Signature> {
    return account.signData(simStateSigningPayload(state));
  }

  /**
   * True iff `sig` recovers to `signer` for `state`. Throws `SignatureError` for a malformed
   * signature (wrong length, r/s out of range, high s, bad v, r not on the curve).
   */
  async verify(signer: Address, state: State, sig: Signature): Promise<boolean> {
    return this.verifyData(signer, simStateSigningPayload(state), sig);
  }

  /** Like `verify`, for a signature made by `SimAccount.signData(data)`. */
  verifyData(signer: Address, data: Uint8Array, sig: Signature): boolean {
    // Check the signature's form before hashing anything (cheap rejections first).
    if (!(sig instanceof Uint8Array) || sig.length !== SIM_SIGNATURE_LENGTH) {
      throw new SignatureError(
        `signature must be ${SIM_SIGNATURE_LENGTH} bytes, got ${sig instanceof Uint8Array ? sig.length : typeof sig}`,
      );
    }
    const recovered = recoverAddressBytes(simDigest(data), sig, this.#secp256k1);
    return signer instanceof SimAddress ? signer.hasBytes(recovered) : bytesEqual(recovered, signer.bytes());
  }

  /** Throws `DecodeError` unless `bytes` is a 20-byte sim address. */
  decodeAddress(bytes: Uint8Array): Address {
    if (!(bytes instanceof Uint8Array) || bytes.length !== SIM_ADDRESS_LENGTH)
      return SimAddress.fromBytes(bytes);
    const key = toHex(bytes);
    const known = this.#addresses.get(key);
    if (known) return known;
    const address = SimAddress.fromBytes(bytes);
    if (this.#addresses.size < MAX_SHARED_ADDRESSES) this.#addresses.set(key, address);
    return address;
  }

  /** Throws `DecodeError` unless `bytes` is an 8-byte sim asset. */
  decodeAsset(bytes: Uint8Array): Asset {
    return SimAsset.fromBytes(bytes);
  }
}
