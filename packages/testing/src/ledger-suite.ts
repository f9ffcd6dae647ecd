import {
  AbortError,
  type Account,
  type Adjudicator,
  type AdjudicatorEvent,
  type AdjudicatorReq,
  type AdjudicatorSubscription,
  type App,
  type Asset,
  type ChannelBackend,
  channelIdEquals,
  channelIdHex,
  type Funder,
  type FundingReq,
  FundingTimeoutError,
  makeInitialState,
  noApp,
  Params,
  type SignedState,
  type State,
  type SubAlloc,
} from "@perun-ts/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

/** One participant of the ledger under test: its signing account and its own funder/adjudicator. */
export interface LedgerSuiteParty {
  readonly account: Account;
  readonly funder: Funder;
  readonly adjudicator: Adjudicator;
}

/** A fresh ledger environment, created once per test. */
export interface LedgerSuiteEnv {
  /** Computes ids and signs states for this ledger. */
  readonly backend: ChannelBackend;
  /** At least two distinct assets. */
  readonly assets: readonly Asset[];
  /** At least three parties. Each party's deposits are paid from, and its withdrawals paid to, one account. */
  readonly parties: readonly LedgerSuiteParty[];
  /** An app (not `noApp`) that accepts every transition (the TrivialApp on Ethereum). */
  readonly app: App;
  /** Moves ledger time forward by `seconds` (and makes the ledger notice, e.g. by mining a block). */
  advanceTime(seconds: bigint): Promise<void>;
  /**
   * Party `party`'s funds of asset `asset` outside the ledger: deposits decrease it, withdrawals
   * increase it, by exactly the amount (use a token rather than a gas-paying coin on a real chain).
   */
  balanceOf(party: number, asset: number): Promise<bigint>;
  /** Releases the environment. */
  close?(): Promise<void>;
}

/** What {@link ledgerConformanceSuite} needs. */
export interface LedgerSuiteSetup {
  /** Title of the `describe` block. */
  readonly name?: string;
  /** A new, independent ledger environment (called before every test). */
  create(): Promise<LedgerSuiteEnv>;
  /** Challenge duration of the channels the suite opens, in ledger seconds; default 60. */
  readonly challengeDuration?: bigint;
  /**
   * The revert reason of a failed ledger call (the contract's reason string). Default:
   * `err.details.reason`, else `err.reason`.
   */
  reasonOf?(err: unknown): string | undefined;
}

function defaultReasonOf(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const details = (err as { details?: unknown }).details;
  if (typeof details === "object" && details !== null) {
    const r = (details as { reason?: unknown }).reason;
    if (typeof r === "string") return r;
  }
  const r = (err as { reason?: unknown }).reason;
  return typeof r === "string" ? r : undefined;
}

/** Lets pending promise continuations and I/O callbacks run. */
function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Tracks whether a promise settled, without leaving an unhandled rejection behind. */
function track<T>(p: Promise<T>): { readonly settled: () => boolean; readonly promise: Promise<T> } {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  return { settled: () => done, promise: p };
}

/**
 * The Funder + Adjudicator conformance suite: every rule and revert reason of the Perun contracts
 * (spec-eth §3) and the dispute timeline (§3.4) that can be reached through the core `Funder` and
 * `Adjudicator` interfaces. Each test gets a fresh environment from `setup.create()`; time only moves
 * through `env.advanceTime`. Failing ledger rules are recognised by their contract reason string
 * (`setup.reasonOf`).
 *
 * The adjudicator's `withdraw` is expected to conclude when needed (waiting for the registered
 * timeout, plus the force-execution window for app channels still in DISPUTE), to use
 * `concludeFinal` for a final state without locked funds, to withdraw the whole holdings and to pay
 * nothing twice.
 *
 * @example
 * ```ts
 * ledgerConformanceSuite({
 *   name: "SimLedger",
 *   async create() {
 *     const clock = new ManualClock();
 *     const ledger = new SimLedger({ backend, clock, initialBalance: 1000n });
 *     ...
 *     return { backend, assets, parties, app, advanceTime: async (s) => clock.advance(s), balanceOf };
 *   },
 * });
 * ```
 */
export function ledgerConformanceSuite(setup: LedgerSuiteSetup): void {
  const name = setup.name ?? "ledger conformance";
  const d = setup.challengeDuration ?? 60n;
  const reasonOf = setup.reasonOf ?? defaultReasonOf;

  describe(name, () => {
    let env: LedgerSuiteEnv;
    let nonce = 0n;
    const opened: AdjudicatorSubscription[] = [];

    beforeEach(async () => {
      env = await setup.create();
      expect(env.assets.length).toBeGreaterThanOrEqual(2);
      expect(env.parties.length).toBeGreaterThanOrEqual(3);
    });

    afterEach(async () => {
      for (const s of opened.splice(0)) s.close();
      await env.close?.();
    });

    // ------------------------------------------------------------ helpers

    const party = (i: number) => env.parties[i] as LedgerSuiteParty;

    function channel(
      opts: { parties?: readonly number[]; app?: boolean; ledger?: boolean; virtual?: boolean } = {},
    ) {
      const parts = (opts.parties ?? [0, 1]).map((i) => party(i).account.address);
      nonce += 1n;
      return Params.create(
        {
          challengeDuration: d,
          parts,
          app: opts.app ? env.app : noApp,
          // unique per test run and per channel
          nonce: BigInt(Date.now()) * 1_000_000n + nonce,
          ledgerChannel: opts.ledger ?? true,
          virtualChannel: opts.virtual ?? false,
        },
        env.backend,
      );
    }

    function stateOf(
      params: Params,
      balances: bigint[][],
      opts: { version?: bigint; isFinal?: boolean; locked?: SubAlloc[] } = {},
    ): State {
      const s0 = makeInitialState(params, {
        assets: env.assets.slice(0, balances.length),
        balances,
        locked: [],
      });
      return {
        ...s0,
        version: opts.version ?? 0n,
        isFinal: opts.isFinal ?? false,
        allocation: { ...s0.allocation, locked: opts.locked ?? [] },
      };
    }

    /** Signatures of the channel's parties (`who` = suite party indices in channel order). */
    async function signAll(state: State, who: readonly number[] = [0, 1]): Promise<Uint8Array[]> {
      const sigs: Uint8Array[] = [];
      for (const i of who) sigs.push(await env.backend.sign(party(i).account, state));
      return sigs;
    }

    async function signed(
      params: Params,
      state: State,
      who: readonly number[] = [0, 1],
    ): Promise<SignedState> {
      return { params, state, sigs: await signAll(state, who) };
    }

    /** Adjudicator request of channel participant `idx` (suite party `who[idx]`). */
    function reqOf(s: SignedState, idx: number, who: readonly number[] = [0, 1]): AdjudicatorReq {
      return {
        params: s.params,
        account: party(who[idx] as number).account,
        tx: { state: s.state, sigs: s.sigs },
        idx,
        secondary: false,
      };
    }

    function fundingReq(params: Params, state: State, idx: number, agreement?: bigint[][]): FundingReq {
      return { params, state, idx, agreement: agreement ?? state.allocation.balances.map((r) => [...r]) };
    }

    async function fundAll(
      params: Params,
      state: State,
      agreement?: bigint[][],
      who: readonly number[] = [0, 1],
    ) {
      await Promise.all(who.map((p, idx) => party(p).funder.fund(fundingReq(params, state, idx, agreement))));
    }

    async function balances(who: readonly number[], assets: number): Promise<bigint[][]> {
      const out: bigint[][] = [];
      for (let a = 0; a < assets; a++) {
        const row: bigint[] = [];
        for (const p of who) row.push(await env.balanceOf(p, a));
        out.push(row);
      }
      return out;
    }

    function delta(after: bigint[][], before: bigint[][]): bigint[][] {
      return after.map((row, a) => row.map((v, p) => v - (before[a]?.[p] ?? 0n)));
    }

    async function expectReason(p: Promise<unknown>, reason: string): Promise<void> {
      let err: unknown;
      try {
        await p;
      } catch (e) {
        err = e;
      }
      expect(err, `expected a failure with reason "${reason}"`).toBeDefined();
      expect(reasonOf(err), `error: ${String(err)}`).toBe(reason);
    }

    /** Advances time in steps of `step` until `p` settles (at most `maxSteps` steps), then awaits it. */
    async function advanceUntilSettled<T>(p: Promise<T>, step: bigint, maxSteps = 4): Promise<T> {
      const t = track(p);
      await flush();
      for (let i = 0; i < maxSteps && !t.settled(); i++) {
        await env.advanceTime(step);
        await flush();
      }
      return p;
    }

    async function subscribe(id: Uint8Array, who = 0): Promise<AdjudicatorSubscription> {
      const s = await party(who).adjudicator.subscribe(id);
      opened.push(s);
      return s;
    }

    async function nextEvent(s: AdjudicatorSubscription): Promise<AdjudicatorEvent> {
      const r = await s[Symbol.asyncIterator]().next();
      expect(r.done, "subscription ended unexpectedly").toBeFalsy();
      return r.value as AdjudicatorEvent;
    }

    /** Opens a funded two-party ledger channel; returns params and the signed initial state. */
    async function openFunded(bals: bigint[][], opts: { app?: boolean } = {}) {
      const params = channel(opts);
      const s0 = stateOf(params, bals);
      await fundAll(params, s0);
      return { params, s0: await signed(params, s0) };
    }

    async function next(
      params: Params,
      prev: State,
      bals: bigint[][],
      opts: { isFinal?: boolean; bump?: bigint } = {},
    ) {
      const s: State = {
        ...prev,
        version: prev.version + (opts.bump ?? 1n),
        isFinal: opts.isFinal ?? false,
        allocation: { ...prev.allocation, balances: bals },
      };
      return signed(params, s);
    }

    // ------------------------------------------------------------ funding

    describe("funding", () => {
      it("every participant deposits its own balance and fund resolves for all", async () => {
        const params = channel();
        const s0 = stateOf(params, [[10n, 20n]]);
        const before = await balances([0, 1], 1);
        await fundAll(params, s0);
        expect(delta(await balances([0, 1], 1), before)).toEqual([[-10n, -20n]]);
      });

      it("all-for-one: one participant funds everything, the other's share is paid out to it", async () => {
        const params = channel();
        const s0 = stateOf(params, [[10n, 20n]]);
        const before = await balances([0, 1], 1);
        await fundAll(params, s0, [[30n, 0n]]);
        expect(delta(await balances([0, 1], 1), before)).toEqual([[-30n, 0n]]);
        const fin = await next(params, s0, [[10n, 20n]], { isFinal: true });
        await party(0).adjudicator.withdraw(reqOf(fin, 0), new Map());
        await party(1).adjudicator.withdraw(reqOf(fin, 1), new Map());
        expect(delta(await balances([0, 1], 1), before)).toEqual([[-20n, 20n]]);
      });

      it("crossover: each participant funds the other's balance of another asset", async () => {
        const params = channel();
        const s0 = stateOf(params, [
          [10n, 0n],
          [0n, 7n],
        ]);
        const before = await balances([0, 1], 2);
        await fundAll(params, s0, [
          [0n, 10n],
          [7n, 0n],
        ]);
        expect(delta(await balances([0, 1], 2), before)).toEqual([
          [0n, -10n],
          [-7n, 0n],
        ]);
      });

      it("zero balances need no deposit and resolve at once", async () => {
        const params = channel();
        const s0 = stateOf(params, [[0n, 0n]]);
        const before = await balances([0, 1], 1);
        await fundAll(params, s0);
        expect(await balances([0, 1], 1)).toEqual(before);
      });

      it("three participants and two assets", async () => {
        const who = [0, 1, 2];
        const params = channel({ parties: who });
        const s0 = stateOf(params, [
          [1n, 2n, 3n],
          [4n, 0n, 6n],
        ]);
        const before = await balances(who, 2);
        await fundAll(params, s0, undefined, who);
        expect(delta(await balances(who, 2), before)).toEqual([
          [-1n, -2n, -3n],
          [-4n, 0n, -6n],
        ]);
      });

      it("is idempotent: a repeated call deposits nothing more", async () => {
        const params = channel();
        const s0 = stateOf(params, [[10n, 20n]]);
        const before = await balances([0, 1], 1);
        await fundAll(params, s0);
        await party(0).funder.fund(fundingReq(params, s0, 0));
        await party(1).funder.fund(fundingReq(params, s0, 1));
        expect(delta(await balances([0, 1], 1), before)).toEqual([[-10n, -20n]]);
      });

      it("a peer that does not fund makes fund fail with FundingTimeoutError per asset", async () => {
        const params = channel();
        const s0 = stateOf(params, [
          [10n, 20n],
          [0n, 5n],
        ]);
        let err: unknown;
        try {
          await advanceUntilSettled(party(0).funder.fund(fundingReq(params, s0, 0)), d);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(FundingTimeoutError);
        const errors = (err as FundingTimeoutError).errors.map((e) => [e.assetIndex, [...e.timedOutPeers]]);
        expect(errors).toEqual([
          [0, [1]],
          [1, [1]],
        ]);
      });

      it("can be aborted while waiting for peers", async () => {
        const params = channel();
        const s0 = stateOf(params, [[10n, 20n]]);
        const ctl = new AbortController();
        const p = track(party(0).funder.fund(fundingReq(params, s0, 0), { signal: ctl.signal }));
        await flush();
        ctl.abort("test");
        await expect(p.promise).rejects.toBeInstanceOf(AbortError);
      });
    });

    // ------------------------------------------------------------ register / conclude / withdraw

    describe("dispute of a ledger channel", () => {
      it("register → timeout → conclude: withdraw pays the registered outcome", async () => {
        const { params, s0 } = await openFunded([[10n, 20n]]);
        const before = await balances([0, 1], 1);
        const s1 = await next(params, s0.state, [[25n, 5n]]);
        await party(0).adjudicator.register(reqOf(s1, 0), []);
        const sub = await subscribe(params.id, 1);
        const ev = await nextEvent(sub);
        expect(ev.type).toBe("registered");
        expect(ev.version).toBe(1n);
        expect(await ev.timeout.isElapsed()).toBe(false);
        await env.advanceTime(d);
        expect(await ev.timeout.isElapsed()).toBe(true);
        await party(0).adjudicator.withdraw(reqOf(s1, 0), new Map());
        await party(1).adjudicator.withdraw(reqOf(s1, 1), new Map());
        expect(delta(await balances([0, 1], 1), before)).toEqual([[25n, 5n]]);
        let concluded: AdjudicatorEvent | undefined;
        while (!concluded) {
          const e = await nextEvent(sub);
          if (e.type === "concluded") concluded = e;
        }
        expect(concluded.version).toBe(1n);
      });

      it("withdraw during a dispute waits for the timeout, then concludes", async () => {
        const { params, s0 } = await openFunded([[10n, 20n]]);
        const before = await balances([0, 1], 1);
        const s1 = await next(params, s0.state, [[12n, 18n]]);
        await party(1).adjudicator.register(reqOf(s1, 1), []);
        await advanceUntilSettled(party(0).adjudicator.withdraw(reqOf(s1, 0), new Map()), d);
        expect(delta(await balances([0, 1], 1), before)).toEqual([[12n, 0n]]);
      });

      it("register → refute → conclude: the newer version wins, the timeout is unchanged", async () => {
        const { params, s0 } = await openFunded([[10n, 20n]]);
        const before = await balances([0, 1], 1);
        const s1 = await next(params, s0.state, [[15n, 15n]]);
        const s2 = await next(params, s1.state, [[5n, 25n]]);
        await party(0).adjudicator.register(reqOf(s1, 0), []);
        const first = await nextEvent(await subscribe(params.id));
        await party(1).adjudicator.register(reqOf(s2, 1), []);
        const latest = await nextEvent(await subscribe(params.id, 1));
        expect(latest.type).toBe("registered");
        expect(latest.version).toBe(2n);
        if (latest.type === "registered") expect(latest.state.allocation.balances).toEqual([[5n, 25n]]);
        // the refutation did not extend the dispute
        await env.advanceTime(d);
        expect(await first.timeout.isElapsed()).toBe(true);
        expect(await latest.timeout.isElapsed()).toBe(true);
        await expectReason(party(0).adjudicator.withdraw(reqOf(s1, 0), new Map()), "invalid channel state");
        await party(0).adjudicator.withdraw(reqOf(s2, 0), new Map());
        await party(1).adjudicator.withdraw(reqOf(s2, 1), new Map());
        expect(delta(await balances([0, 1], 1), before)).toEqual([[5n, 25n]]);
      });

      it("a refutation with an older or the same version fails: invalid version", async () => {
        const { params, s0 } = await openFunded([[10n, 20n]]);
        const s1 = await next(params, s0.state, [[15n, 15n]]);
        const s1b = await next(params, s0.state, [[16n, 14n]]);
        const s2 = await next(params, s1.state, [[5n, 25n]]);
        await party(1).adjudicator.register(reqOf(s2, 1), []);
        await expectReason(party(0).adjudicator.register(reqOf(s1, 0), []), "invalid version");
        await expectReason(party(0).adjudicator.register(reqOf(s1b, 0), []), "invalid version");
        const sameVersion = await signed(params, {
          ...s2.state,
          allocation: { ...s2.state.allocation, balances: [[6n, 24n]] },
        });
        await expectReason(party(0).adjudicator.register(reqOf(sameVersion, 0), []), "invalid version");
      });

      it("a refutation after the timeout fails: refutation timeout passed", async () => {
        const { params, s0 } = await openFunded([[10n, 20n]]);
        const s1 = await next(params, s0.state, [[15n, 15n]]);
        const s2 = await next(params, s1.state, [[5n, 25n]]);
        await party(0).adjudicator.register(reqOf(s1, 0), []);
        await env.advanceTime(d);
        await expectReason(party(1).adjudicator.register(reqOf(s2, 1), []), "refutation timeout passed");
      });

      it("re-registering the registered state is a no-op", async () => {
        const { params, s0 } = await openFunded([[10n, 20n]]);
        const s1 = await next(params, s0.state, [[15n, 15n]]);
        await party(0).adjudicator.register(reqOf(s1, 0), []);
        await party(1).adjudicator.register(reqOf(s1, 1), []);
        const ev = await nextEvent(await subscribe(params.id));
        expect(ev.version).toBe(1n);
      });

      it("rejects bad signatures: invalid signature, signatures length mismatch", async () => {
        const { params, s0 } = await openFunded([[10n, 20n]]);
        const s1 = await next(params, s0.state, [[15n, 15n]]);
        const forged = { ...s1, sigs: [s1.sigs[0] as Uint8Array, s1.sigs[0] as Uint8Array] };
        await expectReason(party(0).adjudicator.register(reqOf(forged, 0), []), "invalid signature");
        const otherState = await signAll(s0.state);
        const wrongState = { ...s1, sigs: [s1.sigs[0] as Uint8Array, otherState[1] as Uint8Array] };
        await expectReason(party(0).adjudicator.register(reqOf(wrongState, 0), []), "invalid signature");
        const short = { ...s1, sigs: [s1.sigs[0] as Uint8Array] };
        await expectReason(party(0).adjudicator.register(reqOf(short, 0), []), "signatures length mismatch");
      });

      it("rejects a channel that is not a ledger channel: not ledger", async () => {
        const params = channel({ ledger: false });
        const s1 = await signed(params, stateOf(params, [[1n, 1n]], { version: 1n }));
        await expectReason(party(0).adjudicator.register(reqOf(s1, 0), []), "not ledger");
      });

      it("rejects a state of another channel: invalid params", async () => {
        const { params, s0 } = await openFunded([[10n, 20n]]);
        const other = channel();
        const foreign = await signed(params, { ...s0.state, id: other.id, version: 1n });
        await expectReason(party(0).adjudicator.register(reqOf(foreign, 0), []), "invalid params");
      });

      it("a registered final state is concludable at once", async () => {
        const { params, s0 } = await openFunded([[10n, 20n]]);
        const before = await balances([0, 1], 1);
        const fin = await next(params, s0.state, [[20n, 10n]], { isFinal: true });
        await party(0).adjudicator.register(reqOf(fin, 0), []);
        const ev = await nextEvent(await subscribe(params.id));
        expect(await ev.timeout.isElapsed()).toBe(true);
        await party(0).adjudicator.withdraw(reqOf(fin, 0), new Map());
        await party(1).adjudicator.withdraw(reqOf(fin, 1), new Map());
        expect(delta(await balances([0, 1], 1), before)).toEqual([[20n, 10n]]);
      });

      it("a fully signed final state overrides a running dispute (concludeFinal)", async () => {
        const { params, s0 } = await openFunded([[10n, 20n]]);
        const before = await balances([0, 1], 1);
        const s1 = await next(params, s0.state, [[25n, 5n]]);
        const fin = await next(params, s1.state, [[1n, 29n]], { isFinal: true });
        await party(0).adjudicator.register(reqOf(s1, 0), []);
        const sub = await subscribe(params.id);
        expect((await nextEvent(sub)).type).toBe("registered");
        await party(1).adjudicator.withdraw(reqOf(fin, 1), new Map());
        const ev = await nextEvent(sub);
        expect(ev.type).toBe("concluded");
        expect(ev.version).toBe(2n);
        await party(0).adjudicator.withdraw(reqOf(fin, 0), new Map());
        expect(delta(await balances([0, 1], 1), before)).toEqual([[1n, 29n]]);
      });

      it("withdrawing an unregistered non-final state fails: invalid channel state", async () => {
        const { params, s0 } = await openFunded([[10n, 20n]]);
        const s1 = await next(params, s0.state, [[15n, 15n]]);
        await expectReason(party(0).adjudicator.withdraw(reqOf(s1, 0), new Map()), "invalid channel state");
      });

      it("a second withdraw pays nothing more", async () => {
        const { params, s0 } = await openFunded([[10n, 20n]]);
        const fin = await next(params, s0.state, [[20n, 10n]], { isFinal: true });
        const before = await balances([0, 1], 1);
        await party(0).adjudicator.withdraw(reqOf(fin, 0), new Map());
        await party(0).adjudicator.withdraw(reqOf(fin, 0), new Map());
        expect(delta(await balances([0, 1], 1), before)).toEqual([[20n, 0n]]);
      });

      it("an under-funded channel refunds the deposits as made", async () => {
        const params = channel();
        const s0 = stateOf(params, [[10n, 20n]]);
        const before = await balances([0, 1], 1);
        await expect(
          advanceUntilSettled(party(0).funder.fund(fundingReq(params, s0, 0)), d),
        ).rejects.toBeInstanceOf(FundingTimeoutError);
        const signed0 = await signed(params, s0);
        await party(0).adjudicator.register(reqOf(signed0, 0), []);
        await advanceUntilSettled(party(0).adjudicator.withdraw(reqOf(signed0, 0), new Map()), d);
        await party(1).adjudicator.withdraw(reqOf(signed0, 1), new Map());
        expect(delta(await balances([0, 1], 1), before)).toEqual([[0n, 0n]]);
      });

      it("an over-funded channel pays the outcome; the surplus stays on the ledger", async () => {
        const params = channel();
        const s0 = stateOf(params, [[10n, 20n]]);
        const before = await balances([0, 1], 1);
        await fundAll(params, s0, [[15n, 20n]]);
        const fin = await next(params, s0, [[10n, 20n]], { isFinal: true });
        await party(0).adjudicator.withdraw(reqOf(fin, 0), new Map());
        await party(1).adjudicator.withdraw(reqOf(fin, 1), new Map());
        expect(delta(await balances([0, 1], 1), before)).toEqual([[-5n, 0n]]);
      });
    });

    // ------------------------------------------------------------ progress

    describe("app channels: progress", () => {
      async function registeredApp() {
        const { params, s0 } = await openFunded([[50n, 50n]], { app: true });
        const s1 = await next(params, s0.state, [[60n, 40n]]);
        await party(0).adjudicator.register(reqOf(s1, 0), []);
        return { params, s1 };
      }

      async function progressReq(from: SignedState, to: State, actor: number, signer = actor) {
        const sig = await env.backend.sign(party(signer).account, to);
        return { ...reqOf(from, actor), newState: to, sig };
      }

      function bump(s: State, bals: bigint[][], opts: { isFinal?: boolean; by?: bigint } = {}): State {
        return {
          ...s,
          version: s.version + (opts.by ?? 1n),
          isFinal: opts.isFinal ?? false,
          allocation: { ...s.allocation, balances: bals },
        };
      }

      it("register → progress → progress → conclude", async () => {
        const { params, s1 } = await registeredApp();
        const before = await balances([0, 1], 1);
        const sub = await subscribe(params.id, 1);
        expect((await nextEvent(sub)).type).toBe("registered");
        await env.advanceTime(d);
        const s2 = bump(s1.state, [[30n, 70n]]);
        await party(0).adjudicator.progress(await progressReq(s1, s2, 0));
        const ev2 = await nextEvent(sub);
        expect(ev2.type).toBe("progressed");
        expect(ev2.version).toBe(2n);
        if (ev2.type === "progressed") expect(ev2.actorIdx).toBe(0);
        expect(await ev2.timeout.isElapsed()).toBe(false);
        const s3 = bump(s2, [[45n, 55n]]);
        const from2 = { params, state: s2, sigs: [] };
        await party(1).adjudicator.progress(await progressReq(from2, s3, 1));
        const ev3 = await nextEvent(sub);
        expect(ev3.type).toBe("progressed");
        expect(ev3.version).toBe(3n);
        if (ev3.type === "progressed") {
          expect(ev3.actorIdx).toBe(1);
          expect(ev3.state.allocation.balances).toEqual([[45n, 55n]]);
        }
        const from3 = { params, state: s3, sigs: [] };
        await advanceUntilSettled(party(0).adjudicator.withdraw(reqOf(from3, 0), new Map()), d);
        await party(1).adjudicator.withdraw(reqOf(from3, 1), new Map());
        expect(delta(await balances([0, 1], 1), before)).toEqual([[45n, 55n]]);
      });

      it("progress before the dispute timeout fails: timeout not passed", async () => {
        const { s1 } = await registeredApp();
        const s2 = bump(s1.state, [[30n, 70n]]);
        await expectReason(party(0).adjudicator.progress(await progressReq(s1, s2, 0)), "timeout not passed");
      });

      it("progress after the force-execution window fails: timeout passed", async () => {
        const { params, s1 } = await registeredApp();
        await env.advanceTime(d);
        const s2 = bump(s1.state, [[30n, 70n]]);
        await party(0).adjudicator.progress(await progressReq(s1, s2, 0));
        await env.advanceTime(d);
        const s3 = bump(s2, [[31n, 69n]]);
        await expectReason(
          party(1).adjudicator.progress(await progressReq({ params, state: s2, sigs: [] }, s3, 1)),
          "timeout passed",
        );
      });

      it("enforces the transition rules", async () => {
        const { params, s1 } = await registeredApp();
        await env.advanceTime(d);
        const adj = party(0).adjudicator;
        await expectReason(
          adj.progress(await progressReq(s1, bump(s1.state, [[30n, 70n]], { by: 2n }), 0)),
          "version must increment by one",
        );
        await expectReason(
          adj.progress(await progressReq(s1, bump(s1.state, [[30n, 71n]]), 0)),
          "sum of balances changed",
        );
        await expectReason(
          adj.progress(await progressReq(s1, bump(s1.state, [[30n, 70n]]), 0, 1)),
          "invalid signature",
        );
        const stale = {
          params,
          state: { ...s1.state, version: 0n, allocation: { ...s1.state.allocation, balances: [[50n, 50n]] } },
          sigs: [],
        };
        await expectReason(
          adj.progress(await progressReq(stale, bump(s1.state, [[30n, 70n]]), 0)),
          "wrong old state",
        );
        const outOfRange = { ...(await progressReq(s1, bump(s1.state, [[30n, 70n]]), 0)), idx: 2 };
        await expectReason(adj.progress(outOfRange), "actorIdx out of range");
        // a valid step still works after all the failures
        await adj.progress(await progressReq(s1, bump(s1.state, [[30n, 70n]]), 0));
      });

      it("progress from a final state fails: cannot progress from final state", async () => {
        const { params, s0 } = await openFunded([[50n, 50n]], { app: true });
        const fin = await next(params, s0.state, [[60n, 40n]], { isFinal: true });
        await party(0).adjudicator.register(reqOf(fin, 0), []);
        await expectReason(
          party(0).adjudicator.progress(await progressReq(fin, bump(fin.state, [[61n, 39n]]), 0)),
          "cannot progress from final state",
        );
      });

      it("progress of a channel without app fails: must have app", async () => {
        const { params, s0 } = await openFunded([[10n, 20n]]);
        const s1 = await next(params, s0.state, [[15n, 15n]]);
        await party(0).adjudicator.register(reqOf(s1, 0), []);
        await env.advanceTime(d);
        await expectReason(
          party(0).adjudicator.progress(await progressReq(s1, bump(s1.state, [[14n, 16n]]), 0)),
          "must have app",
        );
      });

      it("progress of an unregistered channel fails: not registered", async () => {
        const { params, s0 } = await openFunded([[50n, 50n]], { app: true });
        const s1 = await next(params, s0.state, [[60n, 40n]]);
        await expectReason(
          party(0).adjudicator.progress(await progressReq(s1, bump(s1.state, [[61n, 39n]]), 0)),
          "not registered",
        );
      });

      it("progress after the conclusion fails: invalid phase", async () => {
        const { params, s1 } = await registeredApp();
        await advanceUntilSettled(party(0).adjudicator.withdraw(reqOf(s1, 0), new Map()), d);
        expect((await nextEvent(await subscribe(params.id))).type).toBe("concluded");
        await expectReason(
          party(0).adjudicator.progress(await progressReq(s1, bump(s1.state, [[61n, 39n]]), 0)),
          "invalid phase",
        );
      });

      it("an app channel still in DISPUTE concludes only after timeout + challenge duration", async () => {
        const { params, s1 } = await registeredApp();
        const before = await balances([0, 1], 1);
        await env.advanceTime(d);
        const w = track(party(0).adjudicator.withdraw(reqOf(s1, 0), new Map()));
        await flush();
        await flush();
        expect(w.settled(), "concluded inside the force-execution window").toBe(false);
        await advanceUntilSettled(w.promise, d);
        expect(delta(await balances([0, 1], 1), before)).toEqual([[60n, 0n]]);
        const ev = await nextEvent(await subscribe(params.id));
        expect(ev.type).toBe("concluded");
      });
    });

    // ------------------------------------------------------------ sub-channels

    describe("sub-channels", () => {
      /** Ledger [0,1] funded 50/50 that locks 10 in a sub-channel with swapped participants (index map [1, 0]). */
      async function tree() {
        const { params, s0 } = await openFunded([[50n, 50n]]);
        const subParams = channel({ parties: [1, 0], ledger: false });
        const sub1 = await signed(subParams, stateOf(subParams, [[3n, 7n]], { version: 1n }), [1, 0]);
        const locked: SubAlloc = { id: subParams.id, balances: [10n], indexMap: [1, 0] };
        const root1 = await signed(params, {
          ...s0.state,
          version: 1n,
          allocation: { ...s0.state.allocation, balances: [[45n, 45n]], locked: [locked] },
        });
        return { params, subParams, root1, sub1, locked };
      }

      it("the sub-channel outcome is added to the parent participants through the index map", async () => {
        const { params, root1, sub1 } = await tree();
        const before = await balances([0, 1], 1);
        await party(0).adjudicator.register(reqOf(root1, 0), [sub1]);
        const subEvent = await nextEvent(await subscribe(sub1.state.id));
        expect(subEvent.type).toBe("registered");
        const subStates = new Map([[channelIdHex(sub1.state.id), sub1.state]]);
        await advanceUntilSettled(party(0).adjudicator.withdraw(reqOf(root1, 0), subStates), d);
        await party(1).adjudicator.withdraw(reqOf(root1, 1), subStates);
        // parent 0 gets 45 + sub participant 1's 7; parent 1 gets 45 + sub participant 0's 3
        expect(delta(await balances([0, 1], 1), before)).toEqual([[52n, 48n]]);
        expect((await nextEvent(await subscribe(params.id))).type).toBe("concluded");
        expect((await nextEvent(await subscribe(sub1.state.id))).type).toBe("concluded");
      });

      it("register rejects an inconsistent tree", async () => {
        const { params, subParams, root1, sub1, locked } = await tree();
        const adj = party(0).adjudicator;
        await expectReason(adj.register(reqOf(root1, 0), []), "subChannels: too short");
        const wrongId = await signed(params, {
          ...root1.state,
          allocation: {
            ...root1.state.allocation,
            locked: [{ ...locked, id: channel({ ledger: false }).id }],
          },
        });
        await expectReason(adj.register(reqOf(wrongId, 0), [sub1]), "invalid sub-channel id");
        const sub2 = await signed(
          subParams,
          { ...sub1.state, allocation: { ...sub1.state.allocation, balances: [[4n, 7n]] } },
          [1, 0],
        );
        await expectReason(adj.register(reqOf(root1, 0), [sub2]), "uint256[]: unequal item");
      });

      it("a stale sub-channel state is refuted by re-submitting the unchanged parent", async () => {
        const { root1, sub1, subParams } = await tree();
        await party(0).adjudicator.register(reqOf(root1, 0), [sub1]);
        const sub2 = await signed(
          subParams,
          { ...sub1.state, version: 2n, allocation: { ...sub1.state.allocation, balances: [[9n, 1n]] } },
          [1, 0],
        );
        await party(1).adjudicator.register(reqOf(root1, 1), [sub2]);
        const subEvent = await nextEvent(await subscribe(sub1.state.id));
        expect(subEvent.version).toBe(2n);
        const rootEvent = await nextEvent(await subscribe(root1.state.id));
        expect(rootEvent.version).toBe(1n);
        const staleMap = new Map([[channelIdHex(sub1.state.id), sub1.state]]);
        await env.advanceTime(d);
        await expectReason(party(0).adjudicator.withdraw(reqOf(root1, 0), staleMap), "invalid channel state");
        const before = await balances([0, 1], 1);
        const map = new Map([[channelIdHex(sub2.state.id), sub2.state]]);
        await party(0).adjudicator.withdraw(reqOf(root1, 0), map);
        await party(1).adjudicator.withdraw(reqOf(root1, 1), map);
        expect(delta(await balances([0, 1], 1), before)).toEqual([[46n, 54n]]);
      });
    });

    // ------------------------------------------------------------ events and timeouts

    describe("events and timeouts", () => {
      it("a subscription first yields the most recent past event, then new ones", async () => {
        const { params, s0 } = await openFunded([[10n, 20n]]);
        const s1 = await next(params, s0.state, [[15n, 15n]]);
        const s2 = await next(params, s1.state, [[5n, 25n]]);
        const early = await subscribe(params.id);
        await party(0).adjudicator.register(reqOf(s1, 0), []);
        await party(1).adjudicator.register(reqOf(s2, 1), []);
        const late = await subscribe(params.id);
        const first = await nextEvent(late);
        expect([first.type, first.version]).toEqual(["registered", 2n]);
        expect(channelIdEquals(first.id, params.id)).toBe(true);
        const e1 = await nextEvent(early);
        const e2 = await nextEvent(early);
        expect([e1.version, e2.version]).toEqual([1n, 2n]);
        await advanceUntilSettled(party(0).adjudicator.withdraw(reqOf(s2, 0), new Map()), d);
        expect((await nextEvent(late)).type).toBe("concluded");
        const after = await nextEvent(await subscribe(params.id));
        expect([after.type, after.version]).toEqual(["concluded", 2n]);
      });

      it("a closed subscription ends its iteration", async () => {
        const { params } = await openFunded([[1n, 1n]]);
        const sub = await subscribe(params.id);
        const it = sub[Symbol.asyncIterator]();
        const pending = it.next();
        sub.close();
        expect((await pending).done).toBe(true);
        expect((await it.next()).done).toBe(true);
      });

      it("event timeouts follow ledger time; waiting is abortable", async () => {
        const { params, s0 } = await openFunded([[10n, 20n]]);
        const s1 = await next(params, s0.state, [[15n, 15n]]);
        await party(0).adjudicator.register(reqOf(s1, 0), []);
        const ev = await nextEvent(await subscribe(params.id));
        expect(await ev.timeout.isElapsed()).toBe(false);
        const ctl = new AbortController();
        const aborted = track(ev.timeout.wait({ signal: ctl.signal }));
        ctl.abort();
        await expect(aborted.promise).rejects.toBeInstanceOf(AbortError);
        const waiting = track(ev.timeout.wait());
        await flush();
        expect(waiting.settled()).toBe(false);
        await advanceUntilSettled(waiting.promise, d);
        expect(await ev.timeout.isElapsed()).toBe(true);
      });
    });
  });
}
