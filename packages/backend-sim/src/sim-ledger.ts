import {
  AbortError,
  type Address,
  type AdjudicatorEvent,
  type Allocation,
  type Asset,
  addressKey,
  allocationSum,
  type CallOptions,
  type ChannelBackend,
  type ChannelId,
  channelIdEquals,
  channelIdHex,
  cloneState,
  isNoApp,
  lockedEqual,
  MAX_UINT64,
  numParts,
  type Params,
  type SignedState,
  type State,
  StateTransitionError,
  stateEquals,
  toHex,
  ValidationError,
  validateAllocation,
} from "@perun-ts/core";
import { ClockTimeout, ManualClock, type SimClock } from "./sim-clock.js";
import { SimAdjudicator, type SimAdjudicatorOptions } from "./sim-ledger-adjudicator.js";
import { LedgerRuleError } from "./sim-ledger-errors.js";
import { SimFunder, type SimFunderOptions } from "./sim-ledger-funder.js";
import { simFundingId } from "./sim-ledger-funding-id.js";
import { SimLedgerSubscription } from "./sim-ledger-subscription.js";

/** Dispute phases of a registered channel (spec-eth §2.1 `Dispute.phase`). */
export type DisputePhase = "dispute" | "forceexec" | "concluded";

/** A read-only snapshot of a channel's on-ledger dispute record. */
export interface DisputeInfo {
  readonly phase: DisputePhase;
  /** End of the current phase (ledger seconds). */
  readonly timeout: bigint;
  /** When `conclude` becomes possible: `timeout`, plus `challengeDuration` for an app channel still in DISPUTE. */
  readonly concludableAt: bigint;
  readonly challengeDuration: bigint;
  readonly version: bigint;
  readonly hasApp: boolean;
  readonly params: Params;
  /** The stored state (a copy). */
  readonly state: State;
}

/** An asset-holder withdrawal (spec-eth §3.3 `WithdrawalAuth` plus the asset). */
export interface SimWithdrawal {
  readonly asset: Asset;
  readonly channelId: ChannelId;
  /** The participant whose holdings are debited; must be the caller. */
  readonly participant: Address;
  /** Who receives the funds on the ledger. */
  readonly receiver: Address;
  readonly amount: bigint;
}

export interface SimLedgerOptions {
  /** Verifies state signatures and computes channel ids (e.g. `SimChannelBackend`). */
  readonly backend: ChannelBackend;
  /** Ledger time; default `new ManualClock(0n)`. */
  readonly clock?: SimClock;
  /** On-ledger balance every address starts with, per asset; default 0 (use `mint`). */
  readonly initialBalance?: bigint;
}

interface DisputeRecord {
  readonly phase: DisputePhase;
  readonly timeout: bigint;
  readonly challengeDuration: bigint;
  readonly version: bigint;
  readonly hasApp: boolean;
  readonly params: Params;
  readonly state: State;
}

interface TreeNode {
  readonly params: Params;
  readonly state: State;
  readonly sigs: readonly (Uint8Array | undefined)[];
}

function fail(op: string, reason: string, id?: ChannelId, cause?: unknown): never {
  throw new LedgerRuleError(op, reason, {
    ...(id ? { channelId: channelIdHex(id) } : {}),
    ...(cause === undefined ? {} : { cause }),
  });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(signal.reason);
}

function idKey(id: Uint8Array): string {
  return toHex(id);
}

function assetKey(a: Asset): string {
  return toHex(a.bytes());
}

function checkAmount(amount: bigint, what: string): void {
  if (typeof amount !== "bigint" || amount < 0n)
    throw new ValidationError(`${what} must be a non-negative bigint`);
}

function concludableAt(d: DisputeRecord): bigint {
  return d.phase === "dispute" && d.hasApp ? d.timeout + d.challengeDuration : d.timeout;
}

function requireEqualUints(op: string, a: readonly bigint[], b: readonly bigint[], id: ChannelId): void {
  if (a.length !== b.length) fail(op, "uint256[]: unequal length", id);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) fail(op, "uint256[]: unequal item", id);
}

/**
 * An ideal on-chain ledger in memory: the Perun Adjudicator and one asset holder per asset
 * (spec-eth §3), shared by any number of clients, with a controllable clock.
 *
 * The methods named after contract functions (`register`, `progress`, `conclude`,
 * `concludeFinal`, `deposit`, `withdraw`) apply exactly the contract rules and fail with a
 * `LedgerRuleError` carrying the contract's revert reason; a failing call changes nothing.
 * Clients use per-participant views implementing the core interfaces: `ledger.funder()` (a
 * `Funder`) and `ledger.adjudicator()` (an `Adjudicator`).
 *
 * Deviations from the contracts, all stricter or equivalent: an empty `indexMap` means identity
 * (the off-chain convention); an index map whose length differs from the sub-channel's participant
 * count, and a malformed allocation, are rejected at registration (`"invalid index map"`,
 * `"invalid allocation"`); a too short `subStates` in `conclude` fails with `"subStates: too short"`
 * (the contract hits an invalid opcode); `conclude` emits one Concluded event per channel (the
 * contract emits the root's twice) and none for an already concluded sub-channel; a withdrawal is
 * authorised by the caller's address instead of a signed authorisation.
 *
 * @example
 * const clock = new ManualClock();
 * const ledger = new SimLedger({ backend: new SimChannelBackend(), clock, initialBalance: 1000n });
 * const client = new Client({ ..., funder: ledger.funder(), adjudicator: ledger.adjudicator() });
 * clock.advance(params.challengeDuration); // let a dispute time out
 */
export class SimLedger {
  readonly backend: ChannelBackend;
  readonly clock: SimClock;
  readonly #initialBalance: bigint;
  readonly #disputes = new Map<string, DisputeRecord>();
  readonly #latest = new Map<string, AdjudicatorEvent>();
  readonly #subs = new Map<string, Set<SimLedgerSubscription>>();
  /** asset → funding id (or channel id) → amount */
  readonly #holdings = new Map<string, Map<string, bigint>>();
  /** asset → settled channel ids */
  readonly #settled = new Map<string, Set<string>>();
  /** asset → address → amount held outside channels */
  readonly #balances = new Map<string, Map<string, bigint>>();
  readonly #depositListeners = new Set<() => void>();

  constructor(opts: SimLedgerOptions) {
    this.backend = opts.backend;
    this.clock = opts.clock ?? new ManualClock(0n);
    const initial = opts.initialBalance ?? 0n;
    checkAmount(initial, "initial balance");
    this.#initialBalance = initial;
  }

  // ---------------------------------------------------------------- views

  /** A `Funder` for one client; by default each participant deposits from its own address. */
  funder(opts: SimFunderOptions = {}): SimFunder {
    return new SimFunder(this, opts);
  }

  /** An `Adjudicator` for one client; by default withdrawals pay the participant's own address. */
  adjudicator(opts: SimAdjudicatorOptions = {}): SimAdjudicator {
    return new SimAdjudicator(this, opts);
  }

  // ---------------------------------------------------------------- reads

  /** The funding id of `participant` in channel `channelId`. */
  fundingId(channelId: ChannelId, participant: Address): Uint8Array {
    return simFundingId(channelId, participant);
  }

  /** Funds held for `fundingId` (a funding id or a channel id) in `asset`. */
  holdings(asset: Asset, fundingId: Uint8Array): bigint {
    return this.#holdings.get(assetKey(asset))?.get(idKey(fundingId)) ?? 0n;
  }

  /** True once the outcome of `channelId` was pushed to the holder of `asset`. */
  settled(asset: Asset, channelId: ChannelId): boolean {
    return this.#settled.get(assetKey(asset))?.has(idKey(channelId)) ?? false;
  }

  /** `address`'s on-ledger balance of `asset` (outside any channel): pays deposits, receives withdrawals. */
  balanceOf(address: Address, asset: Asset): bigint {
    return this.#balances.get(assetKey(asset))?.get(addressKey(address)) ?? this.#initialBalance;
  }

  /** The dispute record of a channel, or `undefined` if it was never registered or concluded. */
  dispute(channelId: ChannelId): DisputeInfo | undefined {
    const d = this.#disputes.get(idKey(channelId));
    if (!d) return undefined;
    return Object.freeze({
      phase: d.phase,
      timeout: d.timeout,
      concludableAt: concludableAt(d),
      challengeDuration: d.challengeDuration,
      version: d.version,
      hasApp: d.hasApp,
      params: d.params,
      state: cloneState(d.state),
    });
  }

  /** A `Timeout` at ledger time `at`. */
  timeout(at: bigint): ClockTimeout {
    return new ClockTimeout(this.clock, at);
  }

  /** Number of open event subscriptions (for leak checks). */
  get subscriptionCount(): number {
    let n = 0;
    for (const s of this.#subs.values()) n += s.size;
    return n;
  }

  // ---------------------------------------------------------------- asset holders

  /** Credits `amount` of `asset` to `address` (a faucet for tests and demos). */
  mint(address: Address, asset: Asset, amount: bigint): void {
    checkAmount(amount, "mint amount");
    this.#setBalance(address, asset, this.balanceOf(address, asset) + amount);
  }

  /**
   * Moves `amount` of `asset` from `from`'s balance into the holdings of `fundingId` (anyone may
   * deposit for anyone). Fails with `"insufficient balance"` if `from` does not have it.
   */
  deposit(asset: Asset, fundingId: Uint8Array, amount: bigint, from: Address): void {
    checkAmount(amount, "deposit amount");
    const bal = this.balanceOf(from, asset);
    if (bal < amount) fail("deposit", "insufficient balance");
    this.#setBalance(from, asset, bal - amount);
    const h = this.#holdingsOf(asset);
    const k = idKey(fundingId);
    h.set(k, (h.get(k) ?? 0n) + amount);
    for (const l of [...this.#depositListeners]) l();
  }

  /** Calls `listener` after every deposit; returns the function that removes it. */
  onDeposit(listener: () => void): () => void {
    this.#depositListeners.add(listener);
    return () => {
      this.#depositListeners.delete(listener);
    };
  }

  /**
   * Pays `w.amount` of the participant's holdings to `w.receiver`. Rules: outcome set
   * (`"channel not settled"`), `caller` is the participant (`"signature verification failed"`),
   * enough holdings (`"insufficient funds"`).
   */
  withdraw(w: SimWithdrawal, caller: Address): void {
    const op = "withdraw";
    checkAmount(w.amount, "withdrawal amount");
    if (!this.settled(w.asset, w.channelId)) fail(op, "channel not settled", w.channelId);
    if (!caller.equals(w.participant)) fail(op, "signature verification failed", w.channelId);
    const h = this.#holdingsOf(w.asset);
    const k = idKey(simFundingId(w.channelId, w.participant));
    const held = h.get(k) ?? 0n;
    if (held < w.amount) fail(op, "insufficient funds", w.channelId);
    h.set(k, held - w.amount);
    this.#setBalance(w.receiver, w.asset, this.balanceOf(w.receiver, w.asset) + w.amount);
  }

  // ---------------------------------------------------------------- adjudicator

  /**
   * Registers (or refutes with) `channel` and its whole sub-channel tree, `subChannels` in DFS
   * pre-order following `locked`. Unchanged states are skipped silently; a final state is
   * concludable immediately (timeout = now); a refutation keeps the running timeout.
   */
  async register(
    channel: SignedState,
    subChannels: readonly SignedState[],
    opts: CallOptions = {},
  ): Promise<void> {
    const op = "register";
    throwIfAborted(opts.signal);
    if (!channel.params.ledgerChannel) fail(op, "not ledger", channel.state.id);
    const nodes = this.#flattenTree(op, channel, subChannels);
    for (const n of nodes) await this.#requireAllSigned(op, n.params, n.state, n.sigs);
    throwIfAborted(opts.signal);

    const now = this.clock.now();
    const staged = new Map<string, DisputeRecord>();
    const events: AdjudicatorEvent[] = [];
    for (const n of nodes) {
      const id = n.state.id;
      const key = idKey(id);
      const prev = staged.get(key) ?? this.#disputes.get(key);
      if (prev) {
        if (stateEquals(prev.state, n.state)) continue;
        if (!(prev.version < n.state.version)) fail(op, "invalid version", id);
        if (prev.phase !== "dispute") fail(op, "incorrect phase", id);
        if (!(now < prev.timeout)) fail(op, "refutation timeout passed", id);
      }
      const timeout = n.state.isFinal
        ? now
        : prev
          ? prev.timeout
          : this.#addTime(op, now, n.params.challengeDuration, id);
      const state = cloneState(n.state);
      staged.set(key, {
        phase: "dispute",
        timeout,
        challengeDuration: n.params.challengeDuration,
        version: state.version,
        hasApp: !isNoApp(n.params.app),
        params: n.params,
        state,
      });
      events.push({
        type: "registered",
        id: state.id,
        version: state.version,
        timeout: this.timeout(timeout),
        state,
        sigs: n.sigs.map((s) => (s as Uint8Array).slice()),
      });
    }
    for (const [k, r] of staged) this.#disputes.set(k, r);
    for (const e of events) this.#emit(e);
  }

  /**
   * Progresses a registered app channel from `stateOld` (the stored state) to `state`, signed by
   * participant `actorIdx`: after the DISPUTE timeout, or within the FORCEEXEC window. Starts a new
   * force-exec window of `challengeDuration` (none for a final state).
   */
  async progress(
    params: Params,
    stateOld: State,
    state: State,
    actorIdx: number,
    sig: Uint8Array,
    opts: CallOptions = {},
  ): Promise<void> {
    const op = "progress";
    throwIfAborted(opts.signal);
    this.#progressPreconditions(op, params, stateOld, state, actorIdx, this.clock.now());
    await this.#requireSig(op, params.parts[actorIdx] as Address, state, sig);
    throwIfAborted(opts.signal);
    const now = this.clock.now();
    const d = this.#progressPreconditions(op, params, stateOld, state, actorIdx, now);
    this.#requireValidTransition(op, params, stateOld, state, actorIdx);
    this.#requireWellFormed(op, params, state);
    const timeout = state.isFinal ? now : this.#addTime(op, now, params.challengeDuration, state.id);
    const stored = cloneState(state);
    this.#disputes.set(idKey(state.id), {
      phase: "forceexec",
      timeout,
      challengeDuration: params.challengeDuration,
      version: stored.version,
      hasApp: d.hasApp,
      params,
      state: stored,
    });
    this.#emit({
      type: "progressed",
      id: stored.id,
      version: stored.version,
      timeout: this.timeout(timeout),
      state: stored,
      actorIdx,
    });
  }

  /**
   * Concludes a registered ledger channel with its stored `state` once its timeout passed
   * (+`challengeDuration` for an app channel still in DISPUTE), force-concludes the sub-channels
   * (`subStates` = their stored states in DFS pre-order), adds their outcomes to the parent
   * participants through the index maps and sets the outcome at every asset holder.
   */
  async conclude(
    params: Params,
    state: State,
    subStates: readonly State[],
    opts: CallOptions = {},
  ): Promise<void> {
    const op = "conclude";
    throwIfAborted(opts.signal);
    if (!params.ledgerChannel) fail(op, "not ledger", state.id);
    this.#requireValidParams(op, params, state);
    const now = this.clock.now();
    const key = idKey(state.id);
    const d = this.#disputes.get(key);
    // One check on chain: an unregistered channel has a zero stored hash, which no state matches.
    if (!d || !stateEquals(d.state, state)) fail(op, "invalid channel state", state.id);
    if (d.phase === "concluded") fail(op, "channel already concluded", state.id);
    const timeout =
      d.phase === "dispute" && d.hasApp
        ? this.#addTime(op, d.timeout, d.challengeDuration, state.id)
        : d.timeout;
    if (now < timeout) fail(op, "timeout not passed yet", state.id);

    const staged = new Map<string, DisputeRecord>();
    staged.set(key, { ...d, phase: "concluded", timeout });
    const events: AdjudicatorEvent[] = [
      { type: "concluded", id: d.state.id, version: d.version, timeout: this.timeout(timeout) },
    ];
    let next = 0;
    const visit = (s: State): bigint[][] => {
      const outcome = s.allocation.balances.map((row) => [...row]);
      for (const sa of s.allocation.locked) {
        const sub = subStates[next++];
        if (!sub) fail(op, "subStates: too short", state.id);
        if (!channelIdEquals(sa.id, sub.id)) fail(op, "invalid sub-channel id", sub.id);
        const sk = idKey(sub.id);
        const sd = staged.get(sk) ?? this.#disputes.get(sk);
        if (!sd || !stateEquals(sd.state, sub)) fail(op, "invalid channel state", sub.id);
        if (sd.phase !== "concluded") {
          staged.set(sk, { ...sd, phase: "concluded" });
          events.push({
            type: "concluded",
            id: sd.state.id,
            version: sd.version,
            timeout: this.timeout(sd.timeout),
          });
        }
        const subOutcome = visit(sub);
        const map = sa.indexMap.length === 0 ? (subOutcome[0]?.map((_, i) => i) ?? []) : sa.indexMap;
        outcome.forEach((row, a) => {
          map.forEach((target, p) => {
            const add = subOutcome[a]?.[p];
            const have = row[target];
            if (add === undefined || have === undefined) fail(op, "invalid index map", sub.id);
            row[target] = have + add;
          });
        });
      }
      return outcome;
    };
    const outcome = visit(state);
    const push = this.#prepareOutcome(op, state.id, params.parts, state.allocation.assets, outcome);
    for (const [k, r] of staged) this.#disputes.set(k, r);
    push();
    for (const e of events) this.#emit(e);
  }

  /**
   * Concludes a ledger channel at once with a fully signed final state without locked funds,
   * overriding any running dispute (but not a conclusion).
   */
  async concludeFinal(
    params: Params,
    state: State,
    sigs: readonly (Uint8Array | undefined)[],
    opts: CallOptions = {},
  ): Promise<void> {
    const op = "concludeFinal";
    throwIfAborted(opts.signal);
    if (!params.ledgerChannel) fail(op, "not ledger", state.id);
    if (!state.isFinal) fail(op, "state not final", state.id);
    if (state.allocation.locked.length !== 0) fail(op, "cannot have sub-channels", state.id);
    this.#requireValidParams(op, params, state);
    this.#requireWellFormed(op, params, state);
    await this.#requireAllSigned(op, params, state, sigs);
    throwIfAborted(opts.signal);
    const now = this.clock.now();
    const key = idKey(state.id);
    if (this.#disputes.get(key)?.phase === "concluded") fail(op, "channel already concluded", state.id);
    const stored = cloneState(state);
    const push = this.#prepareOutcome(
      op,
      state.id,
      params.parts,
      state.allocation.assets,
      stored.allocation.balances,
    );
    this.#disputes.set(key, {
      phase: "concluded",
      timeout: now,
      challengeDuration: params.challengeDuration,
      version: stored.version,
      hasApp: !isNoApp(params.app),
      params,
      state: stored,
    });
    push();
    this.#emit({ type: "concluded", id: stored.id, version: stored.version, timeout: this.timeout(now) });
  }

  /**
   * Events of channel `channelId`: first the most recent past event (if any), then every new one.
   * Close the subscription (or leave the `for await` loop) when done.
   */
  async subscribe(channelId: ChannelId, opts: CallOptions = {}): Promise<SimLedgerSubscription> {
    throwIfAborted(opts.signal);
    const key = idKey(channelId);
    const sub: SimLedgerSubscription = new SimLedgerSubscription(this.#latest.get(key), () => {
      const set = this.#subs.get(key);
      set?.delete(sub);
      if (set?.size === 0) this.#subs.delete(key);
    });
    let set = this.#subs.get(key);
    if (!set) {
      set = new Set();
      this.#subs.set(key, set);
    }
    set.add(sub);
    return sub;
  }

  // ---------------------------------------------------------------- internals

  #emit(e: AdjudicatorEvent): void {
    const key = idKey(e.id);
    this.#latest.set(key, e);
    for (const s of [...(this.#subs.get(key) ?? [])]) s.push(e);
  }

  #holdingsOf(asset: Asset): Map<string, bigint> {
    const k = assetKey(asset);
    let h = this.#holdings.get(k);
    if (!h) {
      h = new Map();
      this.#holdings.set(k, h);
    }
    return h;
  }

  #setBalance(address: Address, asset: Asset, amount: bigint): void {
    const k = assetKey(asset);
    let b = this.#balances.get(k);
    if (!b) {
      b = new Map();
      this.#balances.set(k, b);
    }
    b.set(addressKey(address), amount);
  }

  #addTime(op: string, t: bigint, d: bigint, id: ChannelId): bigint {
    const sum = t + d;
    if (sum > MAX_UINT64) fail(op, "overflow", id);
    return sum;
  }

  #requireValidParams(op: string, params: Params, state: State): void {
    let id: ChannelId;
    try {
      id = this.backend.calcId(params);
    } catch (cause) {
      fail(op, "invalid params", state.id, cause);
    }
    if (!channelIdEquals(id, state.id)) fail(op, "invalid params", state.id);
  }

  /** Sim-only shape check: a state whose outcome could never be set is rejected up front. */
  #requireWellFormed(op: string, params: Params, state: State): void {
    const a: Allocation = state.allocation;
    try {
      validateAllocation(a);
    } catch (cause) {
      fail(op, "invalid allocation", state.id, cause);
    }
    if (numParts(a) !== params.parts.length) fail(op, "invalid allocation", state.id);
  }

  async #requireSig(op: string, signer: Address, state: State, sig: Uint8Array | undefined): Promise<void> {
    let ok = false;
    if (sig instanceof Uint8Array) {
      try {
        ok = await this.backend.verify(signer, state, sig);
      } catch (cause) {
        fail(op, "invalid signature", state.id, cause);
      }
    }
    if (!ok) fail(op, "invalid signature", state.id);
  }

  async #requireAllSigned(
    op: string,
    params: Params,
    state: State,
    sigs: readonly (Uint8Array | undefined)[],
  ): Promise<void> {
    if (sigs.length !== params.parts.length) fail(op, "signatures length mismatch", state.id);
    for (let i = 0; i < sigs.length; i++)
      await this.#requireSig(op, params.parts[i] as Address, state, sigs[i]);
  }

  /** Checks a tree's shape and static rules; returns root and sub-channels in DFS pre-order. */
  #flattenTree(op: string, root: SignedState, subs: readonly SignedState[]): TreeNode[] {
    const out: TreeNode[] = [];
    let next = 0;
    const visit = (node: TreeNode): void => {
      this.#requireValidParams(op, node.params, node.state);
      this.#requireWellFormed(op, node.params, node.state);
      if (node.params.virtualChannel) {
        if (!isNoApp(node.params.app)) fail(op, "cannot have app", node.state.id);
        if (node.state.allocation.locked.length !== 0) fail(op, "cannot have locked funds", node.state.id);
      }
      out.push(node);
      const parent = node.state.allocation;
      if (parent.locked.length > subs.length) fail(op, "subChannels: too short", node.state.id);
      for (const sa of parent.locked) {
        const sub = subs[next++];
        if (!sub) fail(op, "subChannels: too short", node.state.id);
        if (!channelIdEquals(sa.id, sub.state.id)) fail(op, "invalid sub-channel id", sub.state.id);
        visit(sub);
        const subAlloc = sub.state.allocation;
        if (subAlloc.assets.length !== parent.assets.length)
          fail(op, "address[]: unequal length", sub.state.id);
        subAlloc.assets.forEach((x, i) => {
          if (!x.equals(parent.assets[i] as Asset)) fail(op, "address[]: unequal item", sub.state.id);
        });
        requireEqualUints(op, sa.balances, allocationSum(subAlloc), sub.state.id);
        if (sa.indexMap.length !== 0 && sa.indexMap.length !== numParts(subAlloc)) {
          fail(op, "invalid index map", sub.state.id);
        }
      }
    };
    visit(root);
    return out;
  }

  #progressPreconditions(
    op: string,
    params: Params,
    stateOld: State,
    state: State,
    actorIdx: number,
    now: bigint,
  ): DisputeRecord {
    const d = this.#disputes.get(idKey(state.id));
    if (!d) fail(op, "not registered", state.id);
    if (d.phase === "dispute") {
      if (now < d.timeout) fail(op, "timeout not passed", state.id);
    } else if (d.phase === "forceexec") {
      if (now >= d.timeout) fail(op, "timeout passed", state.id);
    } else {
      fail(op, "invalid phase", state.id);
    }
    if (isNoApp(params.app)) fail(op, "must have app", state.id);
    if (!Number.isInteger(actorIdx) || actorIdx < 0 || actorIdx >= params.parts.length) {
      fail(op, "actorIdx out of range", state.id);
    }
    this.#requireValidParams(op, params, state);
    if (!stateEquals(d.state, stateOld)) fail(op, "wrong old state", state.id);
    return d;
  }

  #requireValidTransition(op: string, params: Params, from: State, to: State, actorIdx: number): void {
    const id = to.id;
    if (to.version !== from.version + 1n) fail(op, "version must increment by one", id);
    if (from.isFinal) fail(op, "cannot progress from final state", id);
    const a = from.allocation;
    const b = to.allocation;
    // Same order and reasons as the Adjudicator contract's progress checks.
    if (a.assets.length !== b.assets.length) fail(op, "address[]: unequal length", id);
    for (let i = 0; i < a.assets.length; i++) {
      if (!(a.assets[i] as Asset).equals(b.assets[i] as Asset)) fail(op, "address[]: unequal item", id);
    }
    const nAssets = a.assets.length;
    if (a.balances.length !== nAssets || b.balances.length !== nAssets)
      fail(op, "balances length mismatch", id);
    const n = params.parts.length;
    const sum = (r: readonly bigint[]) => r.reduce((x, y) => x + y, 0n);
    for (let i = 0; i < nAssets; i++) {
      const oldRow = a.balances[i] ?? [];
      const newRow = b.balances[i] ?? [];
      if (oldRow.length !== n || newRow.length !== n) fail(op, "balances length mismatch", id);
      if (sum(oldRow) !== sum(newRow)) fail(op, "sum of balances changed", id);
    }
    if (!lockedEqual(a.locked, b.locked)) fail(op, "locked funds changed", id);
    try {
      params.app.validTransition(params, from, to, actorIdx);
    } catch (cause) {
      fail(op, cause instanceof StateTransitionError ? cause.reason : "invalid app transition", id, cause);
    }
  }

  /**
   * Checks that every asset holder accepts the outcome (`setOutcome` rules); returns the function
   * that applies it, so a failing call changes nothing.
   */
  #prepareOutcome(
    op: string,
    channelId: ChannelId,
    parts: readonly Address[],
    assets: readonly Asset[],
    outcome: readonly (readonly bigint[])[],
  ): () => void {
    const seen = new Set<string>();
    assets.forEach((asset, a) => {
      const k = assetKey(asset);
      if (seen.has(k) || this.settled(asset, channelId))
        fail(op, "trying to set already settled channel", channelId);
      seen.add(k);
      if ((outcome[a]?.length ?? -1) !== parts.length) fail(op, "invalid allocation", channelId);
    });
    return () => {
      assets.forEach((asset, a) => {
        this.#setOutcome(asset, channelId, parts, outcome[a] as readonly bigint[]);
      });
    };
  }

  /** AssetHolder.setOutcome (spec-eth §3.3), including the under-funding rule. */
  #setOutcome(asset: Asset, channelId: ChannelId, parts: readonly Address[], bals: readonly bigint[]): void {
    const h = this.#holdingsOf(asset);
    const direct = idKey(channelId);
    let held = h.get(direct) ?? 0n;
    h.delete(direct);
    const fids = parts.map((p) => idKey(simFundingId(channelId, p)));
    for (const f of fids) held += h.get(f) ?? 0n;
    const needed = bals.reduce((x, y) => x + y, 0n);
    // Under-funded: holdings stay as deposited, so everybody can get back what they put in.
    if (held >= needed) {
      fids.forEach((f, i) => {
        h.set(f, bals[i] as bigint);
      });
    }
    let s = this.#settled.get(assetKey(asset));
    if (!s) {
      s = new Set();
      this.#settled.set(assetKey(asset), s);
    }
    s.add(idKey(channelId));
  }
}
