import {
  type Address,
  type Allocation,
  type App,
  assetsEqual,
  balancesEqual,
  type ChannelId,
  MAX_UINT64,
  noApp,
  type State,
  ValidationError,
  validateAllocation,
} from "@perun-ts/core";
import {
  MessageType,
  type SubChannelProposalMessage,
  type VirtualChannelProposalMessage,
} from "@perun-ts/wire";
import { NONCE_SHARE_LENGTH, randomNonceShare } from "./nonce.js";
import { PROPOSAL_ID_LENGTH } from "./proposal.js";

/** What a sub-channel proposal is made of (spec §4.6). */
export interface SubChannelProposalInit {
  /** The channel whose balances fund the sub-channel (a ledger channel or another sub-channel). */
  readonly parent: ChannelId;
  /** Dispute period in seconds (non-zero). */
  readonly challengeDuration: bigint;
  /**
   * The initial allocation, in the parent's participant order: `initBals.balances[asset][p]` is
   * taken from participant `p`'s balance in the parent. Nothing locked.
   */
  readonly initBals: Allocation;
  /** The sub-channel's app; `noApp` by default. */
  readonly app?: App;
  readonly initData?: Uint8Array;
  readonly nonceShare?: Uint8Array;
}

/**
 * Builds a sub-channel proposal (spec §4.6). Either participant of the parent may propose; the
 * sub-channel has the parent's participants in the parent's order, and is funded by a parent
 * update that moves exactly `initBals` from the participants' parent balances into a new locked
 * sub-allocation.
 *
 * @example
 * ```ts
 * const sub = await client.proposeChannel(
 *   subChannelProposal({ parent: ledger.id, challengeDuration: 60n,
 *     initBals: { assets: [asset], balances: [[10n, 10n]], locked: [] } }),
 *   { signal },
 * );
 * ```
 */
export function subChannelProposal(init: SubChannelProposalInit): SubChannelProposalMessage {
  const p: SubChannelProposalMessage = {
    type: MessageType.SubChannelProposal,
    proposalId: crypto.getRandomValues(new Uint8Array(PROPOSAL_ID_LENGTH)),
    challengeDuration: init.challengeDuration,
    nonceShare: init.nonceShare ?? randomNonceShare(),
    app: init.app ?? noApp,
    initData: init.initData ?? new Uint8Array(),
    initBals: init.initBals,
    fundingAgreement: init.initBals.balances.map((r) => [...r]),
    parent: init.parent,
  };
  checkChildProposalBase(p);
  return p;
}

/** What a virtual channel proposal is made of (spec §4.7). */
export interface VirtualChannelProposalInit {
  readonly challengeDuration: bigint;
  /** The proposer's channel (signing) address in the virtual channel. */
  readonly proposer: Address;
  /** The initial allocation `[proposer, responder]` per asset; nothing locked. */
  readonly initBals: Allocation;
  /** Wire addresses `[proposer, responder]`. */
  readonly peers: readonly Address[];
  /** Per virtual participant, its ledger channel with the hub: `[proposer's, responder's]`. */
  readonly parents: readonly ChannelId[];
  /**
   * Per parent: virtual participant index → participant index in that parent. For A–I with A at 0
   * and B–I with B at 0 (the hub at 1 in both): `[[0, 1], [1, 0]]`.
   */
  readonly indexMaps: readonly (readonly number[])[];
  readonly app?: App;
  readonly initData?: Uint8Array;
  readonly nonceShare?: Uint8Array;
}

/**
 * Builds a virtual channel proposal (spec §4.7): sent directly to the responder; both then fund
 * the channel from their ledger channels with the hub, which matches the two halves.
 */
export function virtualChannelProposal(init: VirtualChannelProposalInit): VirtualChannelProposalMessage {
  const p: VirtualChannelProposalMessage = {
    type: MessageType.VirtualChannelProposal,
    proposalId: crypto.getRandomValues(new Uint8Array(PROPOSAL_ID_LENGTH)),
    challengeDuration: init.challengeDuration,
    nonceShare: init.nonceShare ?? randomNonceShare(),
    app: init.app ?? noApp,
    initData: init.initData ?? new Uint8Array(),
    initBals: init.initBals,
    fundingAgreement: init.initBals.balances.map((r) => [...r]),
    proposer: init.proposer,
    peers: [...init.peers],
    parents: [...init.parents],
    indexMaps: init.indexMaps.map((m) => [...m]),
  };
  checkVirtualChannelProposalShape(p);
  return p;
}

/** Rules shared by sub- and virtual channel proposals; throws `ValidationError`. */
export function checkChildProposalBase(p: SubChannelProposalMessage | VirtualChannelProposalMessage): void {
  if (p.proposalId.length !== PROPOSAL_ID_LENGTH) throw new ValidationError("proposal id must be 32 bytes");
  if (p.nonceShare.length !== NONCE_SHARE_LENGTH) throw new ValidationError("nonce share must be 32 bytes");
  if (p.challengeDuration <= 0n || p.challengeDuration > MAX_UINT64) {
    throw new ValidationError("challenge duration must be a non-zero uint64");
  }
  validateAllocation(p.initBals);
  if (p.initBals.locked.length > 0) throw new ValidationError("the initial allocation must not lock funds");
  for (const row of p.initBals.balances) {
    if (row.length !== 2)
      throw new ValidationError("the initial allocation needs one balance per participant");
  }
  // Child channels are funded from the parents' balances exactly as allocated (spec §4.2, §11.6).
  if (!balancesEqual(p.fundingAgreement, p.initBals.balances)) {
    throw new ValidationError("the funding agreement of a child channel must equal its initial balances");
  }
}

/** The rules of a virtual channel proposal that need no parent channel; throws `ValidationError`. */
export function checkVirtualChannelProposalShape(p: VirtualChannelProposalMessage): void {
  checkChildProposalBase(p);
  if (p.peers.length !== 2)
    throw new ValidationError(`a virtual channel needs 2 peers, got ${p.peers.length}`);
  if ((p.peers[0] as Address).equals(p.peers[1] as Address))
    throw new ValidationError("both peers are the same");
  if (p.parents.length !== 2 || p.indexMaps.length !== 2) {
    throw new ValidationError("a virtual channel needs one parent and one index map per participant");
  }
  for (const m of p.indexMaps) checkIndexMap(m, 2);
}

/** An index map of a two-party child: 2 distinct entries, each a participant index < `parentParts`. */
export function checkIndexMap(map: readonly number[], parentParts: number): void {
  if (map.length !== 2) throw new ValidationError(`an index map needs 2 entries, got ${map.length}`);
  for (const x of map) {
    if (!Number.isInteger(x) || x < 0 || x >= parentParts) {
      throw new ValidationError(`index map entry ${x} is not a participant index of the parent`);
    }
  }
  if (map[0] === map[1]) throw new ValidationError("index map entries must differ");
}

/**
 * The funds a child takes from (or returns to) its parent, in the parent's participant layout:
 * `moved[asset][map[j]] = childBalances[asset][j]` (identity map when `map` is empty).
 */
export function remap(
  childBalances: readonly (readonly bigint[])[],
  map: readonly number[],
  parentParts: number,
): bigint[][] {
  return childBalances.map((row) => {
    const out = new Array<bigint>(parentParts).fill(0n);
    row.forEach((v, j) => {
      const t = map.length === 0 ? j : (map[j] as number);
      out[t] = (out[t] as bigint) + v;
    });
    return out;
  });
}

/** Checks that the parent `parent` can fund `moved` (per asset and parent participant). */
export function checkParentFunds(parent: State, assets: Allocation["assets"], moved: bigint[][]): void {
  if (!assetsEqual(parent.allocation.assets, assets)) {
    throw new ValidationError("the child's assets differ from the parent's");
  }
  for (const [a, row] of moved.entries()) {
    for (const [p, v] of row.entries()) {
      const have = parent.allocation.balances[a]?.[p] ?? 0n;
      if (have < v) {
        throw new ValidationError(`parent participant ${p} has only ${have} of asset ${a}, needs ${v}`);
      }
    }
  }
}
