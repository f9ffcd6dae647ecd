/**
 * Virtual channels, participant side (spec §4.7): funding and settling the own half through the
 * ledger channel with the hub.
 */
import {
  type CallOptions,
  findSubAlloc,
  Phase,
  type Signature,
  type SignedState,
  type State,
  ValidationError,
  withoutSubAlloc,
} from "@perun-ts/core";
import { MessageType } from "@perun-ts/wire";
import type { Channel, SettleOptions } from "./channel.js";
import type { ChildLink } from "./child-link.js";
import { remap } from "./child-proposal.js";
import { fundedAllocation } from "./sub-channel.js";

function signedOf(ch: Channel): SignedState {
  const tx = ch.current;
  return { params: ch.params, state: tx.state as State, sigs: tx.sigs as Signature[] };
}

/**
 * The link of a participant's virtual channel to its own ledger channel with the hub. `indexMap`
 * maps virtual participant indices to the parent's.
 */
export class VirtualChannelLink implements ChildLink {
  readonly kind = "virtual" as const;

  constructor(
    readonly parent: Channel,
    readonly indexMap: readonly number[],
  ) {}

  /**
   * Sends the funding proposal for `child` (fully signed version 0) to the hub: a parent update
   * that moves the remapped initial balances into a sub-allocation with the index map. Resolves
   * once the hub accepted (it does after matching the other participant's half).
   *
   * @throws PeerRejectedError with the hub's reason; RequestTimedOutError.
   */
  async fund(child: Channel, opts: CallOptions): Promise<void> {
    const initial = signedOf(child);
    const moved = remap(initial.state.allocation.balances, this.indexMap, this.parent.params.parts.length);
    await this.parent.proposeUpdate(
      (s) => ({ ...s, allocation: fundedAllocation(s.allocation, child.id, moved, this.indexMap) }),
      opts,
      {
        lockedMayChange: true,
        wrap: (fields) => ({
          type: MessageType.VirtualChannelFundingProposal,
          ...fields,
          initial,
          indexMap: [...this.indexMap],
        }),
      },
    );
  }

  /**
   * Settles a final virtual channel into the parent: a settlement proposal to the hub that releases
   * the sub-allocation and credits the remapped final balances. The hub accepts after matching the
   * other participant's settlement.
   */
  async settle(child: Channel, opts: SettleOptions): Promise<void> {
    if (child.phase !== Phase.Final) {
      throw new ValidationError(
        "a virtual channel is settled off-chain once final; otherwise settle its parent ledger channel (dispute)",
      );
    }
    const final = signedOf(child);
    const credits = remap(final.state.allocation.balances, this.indexMap, this.parent.params.parts.length);
    if (findSubAlloc(this.parent.state.allocation, child.id)) {
      await this.parent.proposeUpdate(
        (s) => ({ ...s, allocation: withoutSubAlloc(s.allocation, child.id, credits) }),
        opts,
        {
          lockedMayChange: true,
          wrap: (fields) => ({ type: MessageType.VirtualChannelSettlementProposal, ...fields, final }),
        },
      );
    }
    this.parent.forgetChild(child);
    await child.settledThroughParent();
  }
}
