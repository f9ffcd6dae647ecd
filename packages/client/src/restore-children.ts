/**
 * Restoring channels funded from a parent (spec §4.10 for sub-channels and virtual channels, and
 * the hub's copies of virtual channels): each is rebuilt after its parent was restored and
 * synced, linked to the parent's locked sub-allocation, and — if its funding or settlement never
 * reached the parent — dropped.
 */
import {
  type Address,
  type ChannelBackend,
  channelIdHex,
  findSubAlloc,
  isFullySigned,
  type Logger,
  type PersistedChannel,
  type Persister,
  Phase,
  StateMachine,
  ValidationError,
  type Wallet,
} from "@perun-ts/core";
import type { Channel } from "./channel.js";
import type { ChildLink } from "./child-link.js";
import { PersistingMachine } from "./persisting-machine.js";
import { SubChannelLink } from "./sub-channel.js";
import { VirtualChannelLink } from "./virtual-channel.js";

/** What restoring a child needs from the client. @internal */
export interface ChildRestoreContext {
  readonly ownWire: Address;
  readonly persister: Persister | undefined;
  readonly wallet: Wallet;
  readonly backend: ChannelBackend;
  readonly logger: Logger;
  /** The open channel with this id (`channelIdHex`). */
  channel(idHex: string): Channel | undefined;
  /** The client's open channels. */
  channels(): readonly Channel[];
  newChannel(machine: PersistingMachine, peers: readonly Address[], link?: ChildLink): Channel;
  /** The hub rebuilds its copy of a virtual channel funded from `p0` (persisted parent) and `p1`. */
  restoreHubCopy(src: PersistedChannel, p0: Channel, p1: Channel): Promise<Channel>;
}

/** A rebuilt child channel; `hubCopy` for the hub's copy of a virtual channel (not synced). */
export interface RebuiltChild {
  readonly channel: Channel;
  readonly hubCopy: boolean;
}

function locks(parent: Channel, src: PersistedChannel) {
  return findSubAlloc(parent.bestSignedState().state.allocation, src.id);
}

async function drop(ctx: ChildRestoreContext, src: PersistedChannel, why: string): Promise<undefined> {
  await ctx.persister?.channelRemoved(src.id);
  ctx.logger.info("dropping a restored child channel", { channel: channelIdHex(src.id), why });
  return undefined;
}

/**
 * Rebuilds a sub-channel, virtual channel or hub copy whose parent is open in the client. Returns
 * `undefined` (and removes the persisted data) if the parent does not lock it: its opening never
 * got funded, or it was settled into the parent before the crash recorded that.
 *
 * @throws ValidationError if the parent is not open, still has an unresolved update, or the data
 *   does not fit (a hub copy needs both parents).
 */
export async function rebuildChild(
  ctx: ChildRestoreContext,
  src: PersistedChannel,
): Promise<RebuiltChild | undefined> {
  const idHex = channelIdHex(src.id);
  const parentHex = channelIdHex(src.parent as Uint8Array);
  const parent = ctx.channel(parentHex);
  if (!parent) throw new ValidationError(`the parent channel ${parentHex} was not restored`);
  if (parent.phase === Phase.Signing) {
    // Whether the parent's pending update locks or releases this channel is still open.
    throw new ValidationError(`the parent channel ${parentHex} has an unresolved update`);
  }
  if (!src.peers.some((p) => p.equals(ctx.ownWire))) {
    if (!src.params.virtualChannel) {
      throw new ValidationError(`channel ${idHex} is not ours (own wire address not among its peers)`);
    }
    // The hub's copy: funded from two of our ledger channels.
    const other = ctx
      .channels()
      .find((c) => c !== parent && c.isLedgerChannel && locks(c, src) !== undefined);
    if (!locks(parent, src) && !other) return drop(ctx, src, "no parent locks the virtual channel");
    if (!locks(parent, src) || !other) {
      throw new ValidationError(`only one parent locks the virtual channel ${idHex}`);
    }
    return { channel: await ctx.restoreHubCopy(src, parent, other), hubCopy: true };
  }
  if (src.phase === Phase.InitActing) return drop(ctx, src, "opened before its initial state");
  const sub = locks(parent, src);
  if (!sub) return drop(ctx, src, "the parent does not lock it (never funded, or settled into it)");
  if (src.params.virtualChannel && !parent.isLedgerChannel) {
    throw new ValidationError("the parent of a virtual channel must be a ledger channel");
  }
  const account = await ctx.wallet.unlock(src.params.parts[src.idx] as Address);
  const machine = new PersistingMachine(StateMachine.restore(src, account, ctx.backend), ctx.persister);
  const n = src.params.parts.length;
  if (machine.phase === Phase.InitSigning && isFullySigned(machine.staging, n)) await machine.enableInit();
  if (machine.phase === Phase.Signing && isFullySigned(machine.staging, n)) await machine.enable();
  if (machine.phase === Phase.InitSigning) {
    throw new ValidationError("the parent locks a channel whose initial state is not fully signed");
  }
  let link: ChildLink;
  let attach: ((ch: Channel) => void) | undefined;
  if (src.params.virtualChannel) {
    link = new VirtualChannelLink(parent, [...sub.indexMap]);
  } else {
    const subLink = new SubChannelLink(parent);
    link = subLink;
    attach = (ch) => subLink.attach(ch); // resumes the settlement interceptor of a final channel
  }
  const ch = ctx.newChannel(machine, src.peers, link);
  attach?.(ch);
  // Locked in the parent: the funding completed even if the crash came before it was recorded.
  if (ch.phase === Phase.Funding) await ch.setFunded();
  return { channel: ch, hubCopy: false };
}

/** How deep each channel sits below its root (0 for ledger channels). */
export function depths(channels: readonly PersistedChannel[]): Map<string, number> {
  const byId = new Map(channels.map((c) => [channelIdHex(c.id), c]));
  const out = new Map<string, number>();
  const depthOf = (c: PersistedChannel, guard: number): number => {
    const key = channelIdHex(c.id);
    const known = out.get(key);
    if (known !== undefined) return known;
    const parent = c.parent ? byId.get(channelIdHex(c.parent)) : undefined;
    const d = parent && guard < 64 ? depthOf(parent, guard + 1) + 1 : c.parent ? 1 : 0;
    out.set(key, d);
    return d;
  };
  for (const c of channels) depthOf(c, 0);
  return out;
}
