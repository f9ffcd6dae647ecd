import type { Account, Address, Signature } from "@perun-ts/core";

/**
 * The key a NetBus authenticates with: its address is the bus's wire address, `signData` signs
 * handshake transcripts. Any core `Account` qualifies.
 */
export type WireIdentity = Account;

/**
 * Checks that `signature` over `data` was made by the key of `signer` (the counterpart of
 * `WireIdentity.signData`, provided by the backend, e.g. `SimChannelBackend.verifyData`).
 * Returns false for another signer; may throw for a malformed signature (treated as false).
 */
export type SignatureVerifier = (
  signer: Address,
  data: Uint8Array,
  signature: Signature,
) => boolean | Promise<boolean>;
