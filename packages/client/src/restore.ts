/**
 * Restoring a client's channels from persistence (spec §4.10, with the gaps of §11.13 closed):
 * rebuild every persisted channel (parents first: sub- and virtual channels and the hub's copies
 * after their parents, see restore-children.ts), restore the wallet usage counts, re-register
 * with the watcher, hand each to `onNewChannel`, then resume: sync with the peer (which resolves a
 * half-finished update or opening) and finish funding a channel that stopped in Funding.
 */
import {
  type Address,
  type AdjudicatorEvent,
  type CallOptions,
  type ChannelBackend,
  channelIdHex,
  type Funder,
  isFullySigned,
  type Logger,
  type PersistedChannel,
  type Persister,
  Phase,
  RequestTimedOutError,
  type Restorer,
  type State,
  StateMachine,
  ValidationError,
  type Wallet,
} from "@perun-ts/core";
import type { Channel } from "./channel.js";
import { ChannelNotFundedError } from "./errors.js";
import { PersistingMachine } from "./persisting-machine.js";
import { type ChildRestoreContext, depths, rebuildChild } from "./restore-children.js";
import type { SyncOutcome } from "./sync.js";

/** Options of `Client.restore`. */
export interface RestoreOptions extends CallOptions {
  /** Where the channels come from; default: the client's persister if it is also a `Restorer`. */
  readonly restorer?: Restorer;
  /** Re-register every restored channel with the watcher (default true). */
  readonly watch?: boolean;
  /** Receives the adjudicator events of restored channels (when `watch` is on). */
  readonly onEvent?: (channel: Channel, event: AdjudicatorEvent) => void | Promise<void>;
  /** Sync every restored channel with its peer and resume funding (default true). */
  readonly resume?: boolean;
  /** How long each channel's sync waits for the peer (default: the client's sync timeout). */
  readonly syncTimeoutMs?: number;
}

/** What happened to one restored channel. */
export interface RestoredChannel {
  readonly channel: Channel;
  /** The sync's outcome, if it ran and succeeded. */
  readonly sync?: SyncOutcome;
  /** Why resuming (sync or funding) failed; the channel is restored regardless. */
  readonly error?: unknown;
}

/** The result of `Client.restore`. */
export interface RestoreReport {
  readonly channels: readonly RestoredChannel[];
  /**
   * Interrupted openings (id as hex) that were dropped from the client and the persister: the
   * peer did not answer their sync in time (it is unreachable or does not know the channel), and
   * nothing was deposited (funding starts only once version 0 is fully signed).
   */
  readonly abandoned: readonly string[];
  /** Persisted channels that could not be restored (id as hex, and why). */
  readonly failed: readonly { readonly id: string; readonly error: unknown }[];
}

/** What restoring needs from the client. @internal */
export interface RestoreContext extends ChildRestoreContext {
  readonly ownWire: Address;
  readonly persister: Persister | undefined;
  readonly wallet: Wallet;
  readonly backend: ChannelBackend;
  readonly funder: Funder;
  readonly logger: Logger;
  isOpen(idHex: string): boolean;
  /** Puts the channel into the client and calls the `onNewChannel` callbacks. */
  register(channel: Channel): void;
  /** Takes an abandoned channel out of the client again (see `RestoreReport.abandoned`). */
  unregister(channel: Channel): void;
  sync(channel: Channel, opts: CallOptions & { readonly timeoutMs?: number }): Promise<SyncOutcome>;
}

/** True if `r` has the `Restorer` methods. */
export function isRestorer(r: unknown): r is Restorer {
  const o = r as Partial<Restorer> | undefined;
  return (
    typeof o?.activePeers === "function" &&
    typeof o.restorePeer === "function" &&
    typeof o.restoreChannel === "function"
  );
}

/**
 * Orders channels so that every parent comes before its children (spec §4.10). Channels whose
 * parent is not among `channels` are returned in `orphans`.
 */
export function parentsFirst(channels: readonly PersistedChannel[]): {
  ordered: PersistedChannel[];
  orphans: PersistedChannel[];
} {
  const byId = new Map(channels.map((c) => [channelIdHex(c.id), c]));
  const ordered: PersistedChannel[] = [];
  const orphans: PersistedChannel[] = [];
  const done = new Set<string>();
  const visiting = new Set<string>();
  const visit = (c: PersistedChannel): boolean => {
    const key = channelIdHex(c.id);
    if (done.has(key)) return true;
    if (visiting.has(key)) return false; // a cycle: corrupt data
    visiting.add(key);
    const parent = c.parent ? byId.get(channelIdHex(c.parent)) : undefined;
    const ok = c.parent === undefined || (parent !== undefined && visit(parent));
    visiting.delete(key);
    done.add(key);
    if (ok) ordered.push(c);
    else orphans.push(c);
    return ok;
  };
  for (const c of channels) visit(c);
  return { ordered, orphans };
}

/** Reads every persisted channel of every peer but us (deduplicated). */
async function collect(ctx: RestoreContext, restorer: Restorer): Promise<PersistedChannel[]> {
  const all = new Map<string, PersistedChannel>();
  for (const peer of await restorer.activePeers()) {
    if (peer.equals(ctx.ownWire)) continue;
    for await (const c of restorer.restorePeer(peer)) all.set(channelIdHex(c.id), c);
  }
  return [...all.values()];
}

/** Rebuilds one ledger channel; returns undefined if there is nothing to restore. */
async function rebuild(ctx: RestoreContext, src: PersistedChannel): Promise<Channel | undefined> {
  const idHex = channelIdHex(src.id);
  if (!src.peers.some((p) => p.equals(ctx.ownWire))) {
    throw new ValidationError(`channel ${idHex} is not ours (own wire address not among its peers)`);
  }
  if (src.phase === Phase.InitActing) {
    // Nothing was signed or deposited yet: the opening is simply abandoned.
    await ctx.persister?.channelRemoved(src.id);
    ctx.logger.info("dropping a channel restored before its initial state", { channel: idHex });
    return undefined;
  }
  const account = await ctx.wallet.unlock(src.params.parts[src.idx] as Address);
  const machine = new PersistingMachine(StateMachine.restore(src, account, ctx.backend), ctx.persister);
  // A fully signed staging state survived a crash before it was enabled: both parties signed it,
  // so it is the latest state (the peer adopts it from our sync if it discarded its copy).
  const n = src.params.parts.length;
  if (machine.phase === Phase.InitSigning && isFullySigned(machine.staging, n)) await machine.enableInit();
  if (machine.phase === Phase.Signing && isFullySigned(machine.staging, n)) await machine.enable();
  return ctx.newChannel(machine, src.peers);
}

/**
 * Resumes a restored channel: an interrupted opening first syncs (to collect the peer's version-0
 * signature), a channel in Funding finishes funding (idempotent; the peer may only register the
 * channel once funded, so its sync answer can come later), then every channel syncs.
 */
async function resume(
  ctx: RestoreContext,
  ch: Channel,
  opts: RestoreOptions,
): Promise<RestoredChannel | undefined> {
  let sync: SyncOutcome | undefined;
  let syncError: unknown;
  const doSync = async (): Promise<void> => {
    try {
      sync = await ctx.sync(ch, {
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.syncTimeoutMs !== undefined ? { timeoutMs: opts.syncTimeoutMs } : {}),
      });
      syncError = undefined;
    } catch (e) {
      syncError = e;
      ctx.logger.warn("sync after restore failed", {
        channel: ch.idHex,
        error: e instanceof Error ? e.message : String(e),
      });
    }
  };
  const opening = ch.phase === Phase.InitSigning;
  if (opening) {
    await doSync();
    // Still half-signed and the peer did not answer: it is unreachable or knows no signed
    // version 0. Nothing was deposited in InitSigning, so dropping the opening loses nothing; a
    // peer holding the fully signed version 0 would have answered with it (and we would fund).
    if (ch.phase === Phase.InitSigning && syncError instanceof RequestTimedOutError) {
      await abandon(ctx, ch);
      return undefined;
    }
  }
  if (ch.phase === Phase.Funding) {
    const state = ch.current.state as State;
    try {
      // The funding agreement is not persisted: the initial balances are the default agreement.
      await ctx.funder.fund(
        {
          params: ch.params,
          state,
          idx: ch.idx,
          agreement: state.allocation.balances.map((row) => [...row]),
        },
        opts.signal ? { signal: opts.signal } : {},
      );
      await ch.setFunded();
    } catch (e) {
      return { channel: ch, ...(sync ? { sync } : {}), error: new ChannelNotFundedError(ch, e) };
    }
  }
  if (!opening) await doSync();
  return {
    channel: ch,
    ...(sync ? { sync } : {}),
    ...(syncError !== undefined ? { error: syncError } : {}),
  };
}

/** Drops an interrupted opening from the client, the wallet usage counts and the persister. */
async function abandon(ctx: RestoreContext, ch: Channel): Promise<void> {
  ctx.logger.info("abandoning an interrupted opening: the peer did not answer its sync", {
    channel: ch.idHex,
  });
  ctx.unregister(ch);
  ctx.wallet.decrementUsage(ch.params.parts[ch.idx] as Address);
  await ctx.persister?.channelRemoved(ch.id);
}

/** `Client.restore`: see the module comment. @internal */
export async function restoreChannels(
  ctx: RestoreContext,
  restorer: Restorer,
  opts: RestoreOptions,
): Promise<RestoreReport> {
  const all = await collect(ctx, restorer);
  const { ordered, orphans } = parentsFirst(all);
  const failed: { id: string; error: unknown }[] = orphans.map((c) => ({
    id: channelIdHex(c.id),
    error: new ValidationError("the parent channel is not persisted"),
  }));
  // In waves by depth: a child is rebuilt only after its parent was restored, watched and synced,
  // so that it is linked to the parent's agreed locked funds (and watched under its parent).
  const depth = depths(all);
  const maxDepth = Math.max(0, ...depth.values());
  const channels: RestoredChannel[] = [];
  const abandoned: string[] = [];
  for (let d = 0; d <= maxDepth; d++) {
    const restored: Channel[] = [];
    const hubCopies = new Set<Channel>();
    for (const src of ordered.filter((c) => (depth.get(channelIdHex(c.id)) ?? 0) === d)) {
      const id = channelIdHex(src.id);
      if (ctx.isOpen(id)) continue;
      try {
        let ch: Channel | undefined;
        if (src.parent === undefined) ch = await rebuild(ctx, src);
        else {
          const child = await rebuildChild(ctx, src);
          ch = child?.channel;
          if (child?.hubCopy) hubCopies.add(child.channel);
        }
        if (!ch) continue;
        if (!hubCopies.has(ch)) ctx.wallet.incrementUsage(ch.params.parts[ch.idx] as Address);
        ctx.register(ch);
        restored.push(ch);
      } catch (e) {
        failed.push({ id, error: e });
      }
    }
    if (opts.watch !== false) await watchAll(ctx, restored, opts);
    if (opts.resume === false) channels.push(...restored.map((channel) => ({ channel })));
    else {
      // The hub's copy has no peer to sync with (the hub is not a participant).
      const resumed = await Promise.all(
        restored.map((ch) => (hubCopies.has(ch) ? { channel: ch } : resume(ctx, ch, opts))),
      );
      for (const [i, r] of resumed.entries()) {
        if (r) channels.push(r);
        else abandoned.push((restored[i] as Channel).idHex);
      }
    }
  }
  return { channels, abandoned, failed };
}

/** Re-registers restored channels with the watcher (in order: parents before children). */
async function watchAll(ctx: RestoreContext, restored: readonly Channel[], opts: RestoreOptions) {
  for (const ch of restored) {
    if (ch.phase < Phase.Funding || ch.phase >= Phase.Withdrawn) continue;
    if (!isFullySigned(ch.current, ch.params.parts.length)) continue; // progressed on chain
    if (ch.parent && ch.parent.phase >= Phase.Withdrawn) continue;
    const onEvent = opts.onEvent;
    try {
      await ch.watch((ev) => onEvent?.(ch, ev), opts.signal ? { signal: opts.signal } : {});
    } catch (e) {
      ctx.logger.warn("re-registering with the watcher failed", {
        channel: ch.idHex,
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }
}
