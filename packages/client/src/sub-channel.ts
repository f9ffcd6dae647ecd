/**
 * Sub-channels (spec §4.6): funding from and settlement into the parent channel, and the
 * interceptors that let the peer accept exactly those parent updates without asking the user.
 */
import {
  type Allocation,
  abortable,
  allocationEquals,
  balancesSum,
  type ChannelId,
  channelIdHex,
  Deferred,
  findSubAlloc,
  Phase,
  type State,
  ValidationError,
  withoutSubAlloc,
  withSubAlloc,
} from "@perun-ts/core";
import { MessageType } from "@perun-ts/wire";
import type { Channel, SettleOptions } from "./channel.js";
import type { ChildLink, InterceptDecision, UpdateInterceptor } from "./child-link.js";
import { UpdateConflictError } from "./errors.js";

/** The parent allocation after funding child `id` with `moved[asset][parentParticipant]`. */
export function fundedAllocation(
  parent: Allocation,
  id: ChannelId,
  moved: readonly (readonly bigint[])[],
  indexMap: readonly number[],
): Allocation {
  return withSubAlloc(parent, { id, balances: balancesSum(moved), indexMap: [...indexMap] }, moved);
}

/**
 * Why `to` is not exactly `from` with child `id` funded by `moved` (per asset and parent
 * participant) — or `undefined` if it is. The reasons name what is wrong (§11.8: who was debited).
 */
export function fundingMismatch(
  from: State,
  to: State,
  id: ChannelId,
  moved: readonly (readonly bigint[])[],
  indexMap: readonly number[],
): string | undefined {
  const sub = findSubAlloc(to.allocation, id);
  if (!sub) return "the update does not lock the channel";
  const total = balancesSum(moved);
  for (const [a, v] of sub.balances.entries()) {
    if (v !== total[a]) return `locks ${v} of asset ${a}, expected ${total[a]}`;
  }
  for (const [a, row] of from.allocation.balances.entries()) {
    for (const [p, before] of row.entries()) {
      const after = to.allocation.balances[a]?.[p];
      if (after === undefined) return "the participant count changed";
      const want = moved[a]?.[p] ?? 0n;
      if (before - after !== want) {
        return `participant ${p} was debited ${before - after} of asset ${a}, expected ${want}`;
      }
    }
  }
  let expected: Allocation;
  try {
    expected = fundedAllocation(from.allocation, id, moved, indexMap);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  if (!allocationEquals(expected, to.allocation)) return "the locked funds differ from the expected ones";
  if (to.isFinal) return "a funding update must not be final";
  return undefined;
}

/**
 * Why `to` is not exactly `from` with child `id` released and `credits` (per asset and parent
 * participant) added to the balances — or `undefined` if it is.
 */
export function settlementMismatch(
  from: State,
  to: State,
  id: ChannelId,
  credits: readonly (readonly bigint[])[],
): string | undefined {
  if (findSubAlloc(to.allocation, id)) return "the update does not release the channel";
  for (const [a, row] of from.allocation.balances.entries()) {
    for (const [p, before] of row.entries()) {
      const after = to.allocation.balances[a]?.[p];
      if (after === undefined) return "the participant count changed";
      const want = credits[a]?.[p] ?? 0n;
      if (after - before !== want) {
        return `participant ${p} was credited ${after - before} of asset ${a}, expected ${want}`;
      }
    }
  }
  let expected: Allocation;
  try {
    expected = withoutSubAlloc(from.allocation, id, credits);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  if (!allocationEquals(expected, to.allocation)) return "the locked funds differ from the expected ones";
  if (to.isFinal) return "a settlement update must not be final";
  return undefined;
}

/** True for a plain update of `from` that newly locks child `id`. */
function newlyLocks(from: State, to: State, id: ChannelId): boolean {
  return findSubAlloc(from.allocation, id) === undefined && findSubAlloc(to.allocation, id) !== undefined;
}

/** True for a plain update of `from` that releases child `id`. */
function releases(from: State, to: State, id: ChannelId): boolean {
  return findSubAlloc(from.allocation, id) !== undefined && findSubAlloc(to.allocation, id) === undefined;
}

/**
 * The proposee's side of a sub-channel's funding: accepts the parent update that locks the
 * sub-channel iff exactly `initBals` moved from each participant's parent balance; rejects any
 * other update touching the sub-channel with the reason. `funded` resolves on acceptance.
 */
export function awaitSubChannelFunding(
  parent: Channel,
  id: ChannelId,
  initBals: readonly (readonly bigint[])[],
): { readonly funded: Promise<void>; remove(): void } {
  const funded = new Deferred<void>();
  const idHex = channelIdHex(id);
  const interceptor: UpdateInterceptor = (_ch, from, msg) => {
    if (msg.type !== MessageType.ChannelUpdate || !newlyLocks(from, msg.state, id)) return undefined;
    const reason = fundingMismatch(from, msg.state, id, initBals, []);
    if (reason !== undefined) {
      return { accept: false, reason: `invalid funding of sub-channel ${idHex}: ${reason}` };
    }
    return { accept: true, onAccepted: () => funded.resolve() };
  };
  const remove = parent.addInterceptor(interceptor);
  return { funded: funded.promise, remove };
}

/**
 * The link of a sub-channel to its parent. Once the sub-channel is final (whoever proposed the
 * final update — go-perun needed participant 0 to, §11.8), a settlement interceptor on the parent
 * accepts the parent update that releases it with exactly its final balances; `settle` by either
 * participant proposes that update (or waits for the peer's).
 */
export class SubChannelLink implements ChildLink {
  readonly kind = "sub" as const;
  readonly #settled = new Deferred<void>();
  #removeInterceptor: (() => void) | undefined;

  constructor(readonly parent: Channel) {}

  /** Starts following `child`'s updates (call once, right after creating the channel). */
  attach(child: Channel): void {
    child.onUpdate((_from, to) => {
      if (to.isFinal) this.#watchSettlement(child, to);
    });
    if (child.phase === Phase.Final) this.#watchSettlement(child, child.state);
  }

  #watchSettlement(child: Channel, final: State): void {
    if (this.#removeInterceptor) return;
    const id = child.id;
    const credits = final.allocation.balances.map((r) => [...r]);
    const interceptor: UpdateInterceptor = (_ch, from, msg): InterceptDecision | undefined => {
      if (msg.type !== MessageType.ChannelUpdate || !releases(from, msg.state, id)) return undefined;
      const reason = settlementMismatch(from, msg.state, id, credits);
      if (reason !== undefined) {
        return { accept: false, reason: `invalid settlement of sub-channel ${child.idHex}: ${reason}` };
      }
      return { accept: true, onAccepted: () => this.#settled.resolve() };
    };
    this.#removeInterceptor = this.parent.addInterceptor(interceptor);
  }

  async settle(child: Channel, opts: SettleOptions): Promise<void> {
    if (child.phase !== Phase.Final) {
      throw new ValidationError(
        "a sub-channel is settled off-chain once final; otherwise settle its root ledger channel (dispute)",
      );
    }
    if (child.state.allocation.locked.length > 0) {
      throw new ValidationError("settle the sub-channel's own sub-channels first");
    }
    const id = child.id;
    const credits = child.state.allocation.balances.map((r) => [...r]);
    try {
      if (findSubAlloc(this.parent.state.allocation, id)) {
        await this.parent.proposeUpdate(
          (s) => {
            if (!findSubAlloc(s.allocation, id)) throw new AlreadySettled();
            return { ...s, allocation: withoutSubAlloc(s.allocation, id, credits) };
          },
          opts,
          { lockedMayChange: true },
        );
      }
    } catch (e) {
      if (e instanceof UpdateConflictError) {
        // The peer settles it at the same time and has priority: its update releases the funds.
        await abortable(this.#settled.promise, opts.signal);
      } else if (!(e instanceof AlreadySettled)) {
        throw e;
      }
    }
    this.#removeInterceptor?.();
    this.parent.forgetChild(child);
    await child.settledThroughParent();
  }
}

/** The parent no longer locks the sub-channel (the peer settled it first). */
class AlreadySettled extends Error {}
