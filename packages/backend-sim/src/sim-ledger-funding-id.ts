import { keccak_256 } from "@noble/hashes/sha3.js";
import { type Address, type ChannelId, concatBytes } from "@perun-ts/core";

/**
 * The key of a participant's deposits for a channel (spec-eth §2.2 in spirit):
 * keccak256(channelId ‖ participant address bytes). Deposits, holdings and withdrawals of a
 * `SimLedger` are booked per asset under this id.
 */
export function simFundingId(channelId: ChannelId, participant: Address): Uint8Array {
  return keccak_256(concatBytes(channelId, participant.bytes()));
}
