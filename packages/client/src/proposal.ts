import {
  type Address,
  type Allocation,
  type App,
  type Balances,
  balancesSum,
  bigintsEqual,
  MAX_UINT64,
  noApp,
  ValidationError,
  validateAllocation,
} from "@perun-ts/core";
import {
  type LedgerChannelProposalAccMessage,
  type LedgerChannelProposalMessage,
  MessageType,
} from "@perun-ts/wire";
import { NONCE_SHARE_LENGTH, randomNonceShare } from "./nonce.js";

/** Length of a proposal id. */
export const PROPOSAL_ID_LENGTH = 32;

/** What a ledger channel proposal is made of; optional fields have sensible defaults. */
export interface LedgerChannelProposalInit {
  /** Dispute period in seconds (non-zero). */
  readonly challengeDuration: bigint;
  /** The proposer's channel (signing) address. */
  readonly participant: Address;
  /** The initial allocation: one balance per participant (proposer first) per asset, nothing locked. */
  readonly initBals: Allocation;
  /** Wire addresses of the participants: `[proposer, peer]`. */
  readonly peers: readonly Address[];
  /** The channel app; `noApp` (a payment ledger channel) by default. */
  readonly app?: App;
  /** Initial app data; empty by default. */
  readonly initData?: Uint8Array;
  /** Who deposits what; `initBals.balances` by default. Per-asset sums must match. */
  readonly fundingAgreement?: Balances;
  /** The proposer's nonce share; random by default. */
  readonly nonceShare?: Uint8Array;
}

/**
 * Builds a ledger channel proposal message (spec §4.1) with a fresh random proposal id.
 *
 * @example
 * ```ts
 * const proposal = ledgerChannelProposal({
 *   challengeDuration: 60n,
 *   participant: alice.address,
 *   initBals: { assets: [asset], balances: [[100n, 100n]], locked: [] },
 *   peers: [aliceWire.address, bobWire.address],
 * });
 * const channel = await client.proposeChannel(proposal, { signal });
 * ```
 * @throws ValidationError if the proposal breaks a rule (see `checkLedgerChannelProposal`).
 */
export function ledgerChannelProposal(init: LedgerChannelProposalInit): LedgerChannelProposalMessage {
  const proposal: LedgerChannelProposalMessage = {
    type: MessageType.LedgerChannelProposal,
    proposalId: crypto.getRandomValues(new Uint8Array(PROPOSAL_ID_LENGTH)),
    challengeDuration: init.challengeDuration,
    nonceShare: init.nonceShare ?? randomNonceShare(),
    app: init.app ?? noApp,
    initData: init.initData ?? new Uint8Array(),
    initBals: init.initBals,
    fundingAgreement: init.fundingAgreement ?? init.initBals.balances.map((row) => [...row]),
    participant: init.participant,
    peers: [...init.peers],
  };
  checkLedgerChannelProposal(proposal);
  return proposal;
}

/**
 * The two-party rules for a ledger channel proposal (spec §4.1 `validTwoPartyProposal`, plus the
 * funding-agreement check go-perun skipped on the receiving side, spec §11.5): ids and nonce share of
 * the right length, non-zero challenge duration, exactly two peers, a valid allocation with one
 * balance per participant and nothing locked, a funding agreement of the same shape and the same
 * per-asset sums.
 *
 * @throws ValidationError naming the broken rule.
 */
export function checkLedgerChannelProposal(p: LedgerChannelProposalMessage): void {
  if (p.proposalId.length !== PROPOSAL_ID_LENGTH) throw new ValidationError("proposal id must be 32 bytes");
  if (p.nonceShare.length !== NONCE_SHARE_LENGTH) throw new ValidationError("nonce share must be 32 bytes");
  if (p.challengeDuration <= 0n || p.challengeDuration > MAX_UINT64) {
    throw new ValidationError("challenge duration must be a non-zero uint64");
  }
  if (p.peers.length !== 2)
    throw new ValidationError(`a two-party channel needs 2 peers, got ${p.peers.length}`);
  if ((p.peers[0] as Address).equals(p.peers[1] as Address))
    throw new ValidationError("both peers are the same");
  validateAllocation(p.initBals);
  if (p.initBals.locked.length > 0) throw new ValidationError("the initial allocation must not lock funds");
  for (const row of p.initBals.balances) {
    if (row.length !== 2)
      throw new ValidationError("the initial allocation needs one balance per participant");
  }
  const fa = p.fundingAgreement;
  if (
    fa.length !== p.initBals.balances.length ||
    fa.some((row) => row.length !== 2 || row.some((v) => v < 0n))
  ) {
    throw new ValidationError(
      "the funding agreement must have one non-negative amount per asset and participant",
    );
  }
  if (!bigintsEqual(balancesSum(fa), balancesSum(p.initBals.balances))) {
    throw new ValidationError("the funding agreement must fund exactly the initial balances per asset");
  }
}

/** Checks an acceptance against its proposal; throws `ValidationError`. */
export function checkLedgerChannelAcc(
  p: LedgerChannelProposalMessage,
  acc: LedgerChannelProposalAccMessage,
): void {
  if (acc.nonceShare.length !== NONCE_SHARE_LENGTH) throw new ValidationError("nonce share must be 32 bytes");
  if (acc.participant.equals(p.participant)) {
    throw new ValidationError("the responder's participant address equals the proposer's");
  }
}
