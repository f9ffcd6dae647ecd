import { keccak_256 } from "@noble/hashes/sha3.js";
import {
  type Address,
  type ChannelId,
  DecodeError,
  numParts,
  type ParamsInit,
  type State,
  toHex,
  ValidationError,
} from "@perun-ts/core";
import { type AbiParameterToPrimitiveType, encodeAbiParameters, hexToBytes } from "viem";
import { ParamsT, StateT, WithdrawalAuthT } from "./abi-types.js";
import { addressHex, EthAddress, type Hex } from "./eth-address.js";
import { EthAsset } from "./eth-asset.js";

/** The on-chain `Params` struct, in viem's types. */
export type EthParams = AbiParameterToPrimitiveType<typeof ParamsT>;
/** The on-chain `State` struct, in viem's types. */
export type EthState = AbiParameterToPrimitiveType<typeof StateT>;
/** The on-chain `WithdrawalAuth` struct, in viem's types. */
export type EthWithdrawalAuth = AbiParameterToPrimitiveType<typeof WithdrawalAuthT>;

const ZERO_ADDRESS: Hex = "0x0000000000000000000000000000000000000000";

/** Hex of bytes with the `0x` prefix, for viem. */
export function bytesToHex0x(b: Uint8Array): Hex {
  return `0x${toHex(b)}`;
}

// Params objects are immutable (`Params` is frozen); cache their on-chain form by identity.
const paramsCache = new WeakMap<ParamsInit, EthParams>();

/** The on-chain `Params` of core parameters (cached per object). Throws `DecodeError` for non-20-byte addresses. */
export function toEthParams(p: ParamsInit): EthParams {
  const hit = paramsCache.get(p);
  if (hit) return hit;
  const out: EthParams = {
    challengeDuration: p.challengeDuration,
    nonce: p.nonce,
    participants: p.parts.map(addressHex),
    app: p.app.def === null ? ZERO_ADDRESS : addressHex(p.app.def),
    ledgerChannel: p.ledgerChannel,
    virtualChannel: p.virtualChannel,
  };
  if (Object.isFrozen(p)) paramsCache.set(p, out);
  return out;
}

/** ABI encoding of `Params` as a single tuple parameter (starts with the 0x20 offset word). */
export function encodeParams(p: ParamsInit): Uint8Array {
  return hexToBytes(encodeAbiParameters([ParamsT], [toEthParams(p)]));
}

/** The channel id: keccak256 of {@link encodeParams}. */
export function channelIdOf(p: ParamsInit): ChannelId {
  return keccak_256(encodeParams(p));
}

/**
 * The on-chain `State` of a core state. An empty index map means identity; it is expanded to the
 * parent's participant count, the only size for which identity is well-defined (a sub-channel with
 * fewer participants than its parent needs an explicit map). Throws `DecodeError` for assets that are
 * not 20 bytes and `ValidationError` for a version beyond uint64.
 */
export function toEthState(s: State): EthState {
  const n = numParts(s.allocation);
  if (s.version < 0n || s.version >= 1n << 64n) throw new ValidationError("version exceeds uint64");
  return {
    channelID: bytesToHex0x(s.id),
    version: s.version,
    outcome: {
      assets: s.allocation.assets.map((a) => EthAsset.from(a).hex),
      balances: s.allocation.balances.map((row) => [...row]),
      locked: s.allocation.locked.map((l) => ({
        ID: bytesToHex0x(l.id),
        balances: [...l.balances],
        indexMap: l.indexMap.length === 0 ? Array.from({ length: n }, (_, i) => i) : [...l.indexMap],
      })),
    },
    appData: bytesToHex0x(s.data),
    isFinal: s.isFinal,
  };
}

/** ABI encoding of the state as a single tuple parameter (spec-eth §2.2). */
export function encodeState(s: State): Uint8Array {
  return hexToBytes(encodeAbiParameters([StateT], [toEthState(s)]));
}

/** `hashState(state)` = keccak256 of {@link encodeState}: the 32 bytes that participants sign. */
export function hashState(s: State): Uint8Array {
  return keccak_256(encodeState(s));
}

/** The `holdings` key of a participant in a channel: keccak256(channelId ‖ address left-padded). */
export function fundingIdOf(channelId: ChannelId, participant: Address): Uint8Array {
  const buf = new Uint8Array(64);
  if (channelId.length !== 32) throw new ValidationError("channel id must be 32 bytes");
  buf.set(channelId, 0);
  buf.set(EthAddress.from(participant).bytes(), 44);
  return keccak_256(buf);
}

/** Encoding of a withdrawal authorization (a static tuple: four words, no offset). */
export function encodeWithdrawalAuth(auth: EthWithdrawalAuth): Uint8Array {
  return hexToBytes(encodeAbiParameters([WithdrawalAuthT], [auth]));
}

/** Reads a core channel id from 32-byte hex (chain input); throws `DecodeError`. */
export function channelIdFromHex(hex: string): ChannelId {
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) throw new DecodeError("channel id must be 32 bytes of hex");
  return hexToBytes(hex as Hex);
}
