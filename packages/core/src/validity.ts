/**
 * The rules every off-chain update must follow (spec §2.9), shared by the state machine and the
 * client. Each rule fails with a `StateTransitionError` whose `reason` names the rule.
 */
import { allocationSum, assetsEqual, bigintsEqual, lockedEqual, validateAllocation } from "./allocation.js";
import { appsEqual } from "./app.js";
import { channelIdEquals, channelIdHex } from "./channel-id.js";
import { StateTransitionError, ValidationError } from "./errors.js";
import { MAX_UINT64 } from "./limits.js";
import type { Params } from "./params.js";
import type { State } from "./state.js";

/** The `reason` prefixes of the generic rules, in the order they are checked. */
export const TransitionRule = {
  id: "state id does not match the channel parameters",
  app: "state app does not match the channel app",
  final: "current state is final",
  version: "version must be the current version plus one",
  allocation: "invalid allocation",
  assets: "assets changed",
  sum: "sum of funds per asset changed",
  actor: "actor index out of range",
} as const;

/**
 * Checks the generic rules 1–7 of spec §2.9 for `to` following `from` in the channel of `params`:
 * id, app, `from` not final, version + 1, valid allocation (with one balance per participant),
 * assets unchanged, per-asset sum (locked funds included) preserved. App rules are not checked;
 * this is what a force-update (progression) must satisfy off-chain, the app being enforced on chain.
 *
 * @throws StateTransitionError with the failing rule as `reason`.
 */
export function checkGenericTransition(params: Params, from: State, to: State): void {
  const id = channelIdHex(params.id);
  const fail = (reason: string): never => {
    throw new StateTransitionError(id, reason);
  };
  if (!channelIdEquals(to.id, params.id)) fail(TransitionRule.id);
  if (!appsEqual(to.app, params.app)) fail(TransitionRule.app);
  if (from.isFinal) fail(TransitionRule.final);
  if (to.version !== from.version + 1n || to.version > MAX_UINT64) {
    fail(`${TransitionRule.version} (current ${from.version}, got ${to.version})`);
  }
  try {
    validateAllocation(to.allocation);
  } catch (e) {
    if (e instanceof ValidationError) fail(`${TransitionRule.allocation}: ${e.reason}`);
    throw e;
  }
  const parts = to.allocation.balances[0]?.length ?? 0;
  if (parts !== params.parts.length) {
    fail(`${TransitionRule.allocation}: ${parts} balances per asset for ${params.parts.length} participants`);
  }
  if (!assetsEqual(from.allocation.assets, to.allocation.assets)) fail(TransitionRule.assets);
  if (!bigintsEqual(allocationSum(from.allocation), allocationSum(to.allocation))) fail(TransitionRule.sum);
}

/**
 * The full validity check of the state machine: the generic rules (see `checkGenericTransition`),
 * then `actorIdx` is a participant index, then the app's `validTransition`.
 *
 * @throws StateTransitionError with the failing rule as `reason` (app errors pass through as thrown).
 *
 * @example
 * ```ts
 * checkTransition(params, machine.current.state, next, machine.idx);
 * ```
 */
export function checkTransition(params: Params, from: State, to: State, actorIdx: number): void {
  checkGenericTransition(params, from, to);
  if (!Number.isInteger(actorIdx) || actorIdx < 0 || actorIdx >= params.parts.length) {
    throw new StateTransitionError(channelIdHex(params.id), `${TransitionRule.actor}: ${actorIdx}`);
  }
  params.app.validTransition(params, from, to, actorIdx);
}

/** The `reason` prefixes of the client's two-party rules. */
export const TwoPartyRule = {
  actor: "actor is not the sender of the update",
  locked: "locked funds changed",
} as const;

/**
 * The client's two-party update rules (spec §2.9, `validTwoPartyUpdate`): only the proposer of an
 * update may be its actor, and plain updates never touch locked funds (sub-channel and
 * virtual-channel parent updates use their own validators instead).
 *
 * @param actorIdx the actor the update claims.
 * @param senderIdx participant index of whoever proposed the update.
 * @throws StateTransitionError with the failing rule as `reason`.
 */
export function checkTwoPartyUpdate(from: State, to: State, actorIdx: number, senderIdx: number): void {
  const id = channelIdHex(to.id);
  if (actorIdx !== senderIdx) {
    throw new StateTransitionError(id, `${TwoPartyRule.actor} (actor ${actorIdx}, sender ${senderIdx})`);
  }
  if (!lockedEqual(from.allocation.locked, to.allocation.locked)) {
    throw new StateTransitionError(id, TwoPartyRule.locked);
  }
}
