import {
  type Address,
  type Adjudicator,
  type AdjudicatorReq,
  type AdjudicatorSubscription,
  type Asset,
  type CallOptions,
  type ChannelId,
  channelIdHex,
  type ProgressReq,
  type SignedState,
  type State,
  stateEquals,
  toHex,
  ValidationError,
} from "@perun-ts/core";
import type { SimLedger } from "./sim-ledger.js";
import { LedgerRuleError } from "./sim-ledger-errors.js";

export interface SimAdjudicatorOptions {
  /** Who receives withdrawn funds. Default: the participant's own address. */
  readonly receiver?: Address;
}

function requireState(req: AdjudicatorReq): State {
  if (!req.tx.state) throw new ValidationError("adjudicator request carries no state");
  return req.tx.state;
}

/** Looks up a descendant's state; the map is keyed by `channelIdHex(id)` (bare hex is accepted too). */
function lookupSubState(subStates: ReadonlyMap<string, State>, id: ChannelId): State {
  const s = subStates.get(channelIdHex(id)) ?? subStates.get(toHex(id));
  if (!s) throw new ValidationError(`missing state of sub-channel ${channelIdHex(id)}`);
  return s;
}

/** Descendants of `state` in DFS pre-order following `locked`. */
function subStatesInOrder(state: State, subStates: ReadonlyMap<string, State>): State[] {
  const out: State[] = [];
  const visit = (s: State, depth: number) => {
    if (depth > 64) throw new ValidationError("sub-channel tree too deep (cycle?)");
    for (const l of s.allocation.locked) {
      const sub = lookupSubState(subStates, l.id);
      out.push(sub);
      visit(sub, depth + 1);
    }
  };
  visit(state, 0);
  return out;
}

function isAlreadyConcluded(e: unknown): boolean {
  return e instanceof LedgerRuleError && e.reason === "channel already concluded";
}

/**
 * `Adjudicator` view of a `SimLedger` for one client.
 *
 * - `register`: the contract's `register` with `req.tx` as the root and `subChannels` (DFS pre-order).
 * - `progress`: the contract's `progress(params, req.tx.state, req.newState, req.idx, req.sig)`.
 * - `withdraw`: makes sure the channel is concluded, then pays the participant's whole `holdings`
 *   per asset to the receiver. Concluding: nothing if already concluded; `concludeFinal` for a
 *   final state without locked funds that was not force-executed; otherwise `conclude` with the
 *   descendants' states from `subStates`, after **waiting** (abortably, in ledger time) for the
 *   registered timeout (+`challengeDuration` for an app channel still in DISPUTE) — so a caller
 *   never sends a premature conclude (go-perun #367). Calling it again pays nothing twice.
 *   `req.secondary` changes nothing (there is no gas to save).
 * - `subscribe`: the ledger's event subscription.
 */
export class SimAdjudicator implements Adjudicator {
  readonly #ledger: SimLedger;
  readonly #opts: SimAdjudicatorOptions;

  constructor(ledger: SimLedger, opts: SimAdjudicatorOptions = {}) {
    this.#ledger = ledger;
    this.#opts = opts;
  }

  async register(
    req: AdjudicatorReq,
    subChannels: readonly SignedState[],
    opts: CallOptions = {},
  ): Promise<void> {
    const state = requireState(req);
    // Missing signatures are passed on as such: the ledger rejects them with "invalid signature".
    const root = { params: req.params, state, sigs: req.tx.sigs.map((s) => s ?? new Uint8Array(0)) };
    await this.#ledger.register(root, subChannels, opts);
  }

  async progress(req: ProgressReq, opts: CallOptions = {}): Promise<void> {
    const state = requireState(req);
    await this.#ledger.progress(req.params, state, req.newState, req.idx, req.sig, opts);
  }

  async withdraw(
    req: AdjudicatorReq,
    subStates: ReadonlyMap<string, State>,
    opts: CallOptions = {},
  ): Promise<void> {
    const state = requireState(req);
    const { params } = req;
    const ledger = this.#ledger;
    if (!Number.isInteger(req.idx) || req.idx < 0 || req.idx >= params.parts.length) {
      throw new ValidationError(`participant index ${req.idx} out of range`);
    }
    await this.#ensureConcluded(req, state, subStates, opts);
    const participant = params.parts[req.idx] as Address;
    const receiver = this.#opts.receiver ?? participant;
    const fid = ledger.fundingId(state.id, participant);
    const done = new Set<string>();
    for (const asset of state.allocation.assets as readonly Asset[]) {
      const key = toHex(asset.bytes());
      if (done.has(key)) continue;
      done.add(key);
      const amount = ledger.holdings(asset, fid);
      if (amount > 0n) {
        ledger.withdraw({ asset, channelId: state.id, participant, receiver, amount }, req.account.address);
      }
    }
  }

  subscribe(id: ChannelId, opts: CallOptions = {}): Promise<AdjudicatorSubscription> {
    return this.#ledger.subscribe(id, opts);
  }

  async #ensureConcluded(
    req: AdjudicatorReq,
    state: State,
    subStates: ReadonlyMap<string, State>,
    opts: CallOptions,
  ): Promise<void> {
    const ledger = this.#ledger;
    const { params } = req;
    const ordered = subStatesInOrder(state, subStates);
    for (;;) {
      const d = ledger.dispute(state.id);
      if (d?.phase === "concluded") return;
      try {
        if (state.isFinal && state.allocation.locked.length === 0 && d?.phase !== "forceexec") {
          const sigs = req.tx.sigs.map((s) => s ?? new Uint8Array(0));
          await ledger.concludeFinal(params, state, sigs, opts);
          return;
        }
        // Wait for the end of the dispute only if our state is the registered one; otherwise let
        // `conclude` fail right away with the contract's reason.
        if (d && stateEquals(d.state, state) && ledger.clock.now() < d.concludableAt) {
          await ledger.clock.waitUntil(d.concludableAt, opts);
          continue; // the record may have changed meanwhile
        }
        await ledger.conclude(params, state, ordered, opts);
        return;
      } catch (e) {
        // Somebody else concluded first: fine, the outcome is set.
        if (isAlreadyConcluded(e) && ledger.dispute(state.id)?.phase === "concluded") return;
        throw e;
      }
    }
  }
}
