/**
 * Internal plumbing between a channel and the channels funded from it (sub-channels, virtual
 * channels, the hub's copies of virtual channels). Not part of the public API.
 */
import type { State } from "@perun-ts/core";
import type {
  ChannelUpdateMessage,
  VirtualChannelFundingProposalMessage,
  VirtualChannelSettlementProposalMessage,
} from "@perun-ts/wire";
import type { Channel, SettleOptions } from "./channel.js";

/** An update request a channel may receive from its peer. */
export type UpdateRequest =
  | ChannelUpdateMessage
  | VirtualChannelFundingProposalMessage
  | VirtualChannelSettlementProposalMessage;

/** What an interceptor decided about an update request it recognised. */
export type InterceptDecision =
  | {
      readonly accept: true;
      /** Runs after the update was accepted and enabled (still under the channel lock). */
      readonly onAccepted?: () => void;
    }
  | { readonly accept: false; readonly reason: string };

/**
 * Looks at a validated (signature, generic rules) update request of `channel` before the user's
 * update handler does. Returns `undefined` if the request is not its business; otherwise the
 * decision (possibly after waiting, e.g. for the hub's matching half), which the channel carries
 * out without asking the user.
 */
export type UpdateInterceptor = (
  channel: Channel,
  current: State,
  msg: UpdateRequest,
  senderIdx: number,
) => Promise<InterceptDecision> | InterceptDecision | undefined;

/** How a child channel hangs off its parent. */
export interface ChildLink {
  /** The channel whose funds are locked for the child. */
  readonly parent: Channel;
  /** What kind of child this is. */
  readonly kind: "sub" | "virtual" | "hub-copy";
  /** Settles the child (off-chain into its parent; see sub-channel.ts / virtual-channel.ts). */
  settle(child: Channel, opts: SettleOptions): Promise<void>;
}
