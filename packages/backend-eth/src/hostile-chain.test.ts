// Hostile chain behaviour on anvil (issue 13 item 2), with clients, watchers and exact ERC20
// balances: stale registrations while the victim is offline but its watcher runs, repeated
// refutation races, a peer that concludes first, double withdraw, invalid progress, and reorgs that
// remove a registration or a deposit before their confirmations. (A peer that
// never funds is the scenario "funding timeout with recovery of the deposit" in scenarios.test.ts.)
import assert from "node:assert/strict";
import { assetHolderAbi } from "@perun-ts/contracts";
import {
  type AdjudicatorReq,
  type ChannelId,
  FundingTimeoutError,
  makeInitialState,
  noApp,
  Params,
  type SignedState,
  type State,
  type Transaction,
  TxTimedOutError,
  transfer,
} from "@perun-ts/core";
import {
  acceptAll,
  INITIAL_LEDGER_BALANCE,
  openChannel,
  pay,
  watchChannel,
  withScenario,
} from "@perun-ts/testing";
import { describe, expect, it } from "vitest";
import { EthAdjudicator } from "./adjudicator.js";
import { EthChain } from "./chain.js";
import { EthDepositor } from "./depositor.js";
import { bytesToHex0x, fundingIdOf } from "./encoding.js";
import { TxFailedError } from "./errors.js";
import type { EthAccount } from "./eth-account.js";
import { ethScenarioSetup } from "./eth-scenario-setup.test-helper.js";
import { type EthAssetFundingError, EthFunder } from "./funder.js";
import { DisputePhase } from "./subscription.js";

const { setup, env } = ethScenarioSetup("eth hostile chain");

/** A read-only view of the chain's dispute record. */
function chainView() {
  return new EthAdjudicator({ chain: env().chain, adjudicator: env().deployment.adjudicator });
}

/** Polls (in real time, briefly) until the dispute record holds `version`. */
async function untilChainVersion(id: ChannelId, version: bigint): Promise<void> {
  const view = chainView();
  for (let i = 0; i < 500; i++) {
    const d = await view.dispute(id);
    if (d.registered && d.version === version) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`the chain never reached version ${version}`);
}

describe("hostile chain on anvil", () => {
  it("stale registrations fired concurrently while the victim is offline: its watcher refutes, the peer concludes first, double withdraw pays nothing more", async () => {
    await withScenario(setup, async (ctx, party) => {
      const mallory = await party("Mallory");
      const carol = await party("Carol");
      mallory.client.handle(acceptAll(mallory));
      carol.client.handle(acceptAll(carol));
      const [m, c] = await openChannel(ctx, mallory, carol, [100n, 1n]);
      const stale: Transaction[] = [m.current];
      for (let i = 0; i < 5; i++) {
        await m.update(pay(m.idx, 20n), { signal: ctx.signal });
        stale.push(m.current);
      }
      const latest = stale.pop() as Transaction;
      assert.equal(latest.state?.version, 5n);
      const carolLatest: SignedState = {
        params: c.params,
        state: c.state,
        sigs: c.current.sigs as Uint8Array[],
      };
      const carolIdx = c.idx;

      // Carol hands her latest state to her watcher and goes offline (her client is gone).
      await carol.watcher.startWatchingLedgerChannel(carolLatest, { signal: ctx.signal });
      await carol.client.close();

      // Mallory registers every stale version at once (one account, transactions in flight together).
      const req = (tx: Transaction): AdjudicatorReq => ({
        params: m.params,
        account: mallory.participant,
        tx,
        idx: m.idx,
        secondary: false,
      });
      const attempts = await Promise.allSettled(
        stale.map((tx) => mallory.adjudicator.register(req(tx), [], { signal: ctx.signal })),
      );
      for (const a of attempts) {
        // a stale registration either lands (and is refuted) or reverts against a newer one
        if (a.status === "rejected") expect(a.reason).toBeInstanceOf(TxFailedError);
      }
      // the first one always lands (nothing is registered before it), so only the watcher can bring v5
      expect(attempts.some((a) => a.status === "fulfilled")).toBe(true);
      await untilChainVersion(m.id, 5n);
      // and again, once the refutation is on chain: every stale version now reverts
      for (const tx of stale) {
        await expect(
          mallory.adjudicator.register(req(tx), [], { signal: ctx.signal }),
        ).rejects.toBeInstanceOf(TxFailedError);
      }
      const record = await chainView().dispute(m.id);
      expect(record.version).toBe(5n);
      expect(record.phase).toBe(DisputePhase.DISPUTE);

      await ctx.ledger.advanceTime(setup.challengeDuration);
      // the stale state cannot be concluded; Mallory concludes first with the latest and withdraws
      await expect(
        mallory.adjudicator.withdraw(req(stale[0] as Transaction), new Map(), { signal: ctx.signal }),
      ).rejects.toBeInstanceOf(TxFailedError);
      await m.settle({ signal: ctx.signal });
      expect(await ctx.ledger.balanceOf(mallory.participant.address)).toBe(INITIAL_LEDGER_BALANCE - 100n);

      // Carol comes back and withdraws (the channel is already concluded)
      const carolReq: AdjudicatorReq = {
        params: carolLatest.params,
        account: carol.participant,
        tx: { state: carolLatest.state, sigs: carolLatest.sigs },
        idx: carolIdx,
        secondary: false,
      };
      await carol.adjudicator.withdraw(carolReq, new Map(), { signal: ctx.signal });
      expect(await ctx.ledger.balanceOf(carol.participant.address)).toBe(INITIAL_LEDGER_BALANCE + 100n);
      // a second withdrawal by either side pays nothing more
      await carol.adjudicator.withdraw(carolReq, new Map(), { signal: ctx.signal });
      await mallory.adjudicator.withdraw(req(latest), new Map(), { signal: ctx.signal });
      expect(await ctx.ledger.balanceOf(carol.participant.address)).toBe(INITIAL_LEDGER_BALANCE + 100n);
      expect(await ctx.ledger.balanceOf(mallory.participant.address)).toBe(INITIAL_LEDGER_BALANCE - 100n);
    });
  });

  it("repeated refutation races: each new stale registration after a refutation reverts, the latest stays", async () => {
    await withScenario(setup, async (ctx, party) => {
      const mallory = await party("Mallory");
      const carol = await party("Carol");
      mallory.client.handle(acceptAll(mallory));
      carol.client.handle(acceptAll(carol));
      const [m, c] = await openChannel(ctx, mallory, carol, [50n, 50n]);
      await watchChannel(carol, c);
      const history: Transaction[] = [m.current];
      for (let i = 0; i < 3; i++) {
        await m.update(pay(m.idx, 10n), { signal: ctx.signal });
        history.push(m.current);
      }
      const req = (tx: Transaction): AdjudicatorReq => ({
        params: m.params,
        account: mallory.participant,
        tx,
        idx: m.idx,
        secondary: false,
      });
      // round 1: v0 is registered and refuted with v3
      await mallory.adjudicator.register(req(history[0] as Transaction), [], { signal: ctx.signal });
      await carol.event((e) => e.type === "registered" && e.version === 3n);
      // rounds 2..3: Mallory retries with ever newer stale versions; the chain refuses them
      for (const tx of history.slice(1, 3)) {
        await expect(
          mallory.adjudicator.register(req(tx), [], { signal: ctx.signal }),
        ).rejects.toBeInstanceOf(TxFailedError);
      }
      const versions = carol.events.filter((e) => e.type === "registered").map((e) => e.version);
      expect(versions).toEqual([0n, 3n]);

      // the channel continues to be disputed with v3: both settle, balances exact (50−30 / 50+30)
      await ctx.ledger.advanceTime(setup.challengeDuration);
      await Promise.all([c.settle({ signal: ctx.signal }), m.settle({ signal: ctx.signal })]);
      expect(await ctx.ledger.balanceOf(mallory.participant.address)).toBe(INITIAL_LEDGER_BALANCE - 30n);
      expect(await ctx.ledger.balanceOf(carol.participant.address)).toBe(INITIAL_LEDGER_BALANCE + 30n);
    });
  });

  it("invalid progress (inflated balances, skipped version, foreign actor signature) reverts; the honest outcome holds", async () => {
    await withScenario(setup, async (ctx, party) => {
      const mallory = await party("Mallory");
      const carol = await party("Carol");
      mallory.client.handle(acceptAll(mallory));
      carol.client.handle(acceptAll(carol));
      const [m, c] = await openChannel(ctx, mallory, carol, [60n, 40n], ctx.trivialApp);
      await watchChannel(carol, c);
      await m.update(pay(m.idx, 10n), { signal: ctx.signal }); // v1: 50/50
      await m.register({ signal: ctx.signal });
      await carol.event((e) => e.type === "registered" && e.version === 1n);
      await ctx.ledger.advanceTime(setup.challengeDuration);

      const registered = m.current;
      const base = registered.state as State;
      const signedBy = async (who: typeof mallory, s: State) => setup.backend.sign(who.participant, s);
      const progress = async (newState: State, signer: typeof mallory, idx: number) =>
        mallory.adjudicator.progress(
          {
            params: m.params,
            account: mallory.participant,
            tx: registered,
            idx,
            secondary: false,
            newState,
            sig: await signedBy(signer, newState),
          },
          { signal: ctx.signal },
        );
      const next = (s: State, v: bigint, bals: bigint[]): State => ({
        ...s,
        version: v,
        allocation: { ...s.allocation, balances: [bals] },
      });
      const mIdx = m.idx;
      const inflated = next(base, 2n, mIdx === 0 ? [150n, 50n] : [50n, 150n]);
      const reason = (p: Promise<unknown>) =>
        p.then(
          () => "no revert",
          (e: unknown) => (e instanceof TxFailedError ? e.reason : String(e)),
        );
      expect(await reason(progress(inflated, mallory, mIdx))).toBe("sum of balances changed");
      const skipped = { ...base, version: 3n, allocation: transfer(base.allocation, mIdx ^ 1, mIdx, [50n]) };
      expect(await reason(progress(skipped, mallory, mIdx))).toBe("version must increment by one");
      // Mallory claims to act for Carol with her own signature
      const robbed = { ...base, version: 2n, allocation: transfer(base.allocation, mIdx ^ 1, mIdx, [50n]) };
      expect(await reason(progress(robbed, mallory, mIdx ^ 1))).toBe("invalid signature");
      const record = await chainView().dispute(m.id);
      expect(record.version).toBe(1n);
      expect(record.phase).toBe(DisputePhase.DISPUTE);

      // nothing was progressed: after the unused force-execution window the registered 50/50 is paid
      await ctx.ledger.advanceTime(setup.challengeDuration);
      await Promise.all([c.settle({ signal: ctx.signal }), m.settle({ signal: ctx.signal })]);
      expect(await ctx.ledger.balanceOf(mallory.participant.address)).toBe(INITIAL_LEDGER_BALANCE - 10n);
      expect(await ctx.ledger.balanceOf(carol.participant.address)).toBe(INITIAL_LEDGER_BALANCE + 10n);
      expect(carol.events.some((e) => e.type === "progressed")).toBe(false);
    });
  });

  it("a stale registration reorged away before its confirmations is never reported: no event, register() does not succeed; the latest state is paid", async () => {
    await withScenario(setup, async (ctx, party) => {
      const e = env();
      const mallory = await party("Mallory");
      const carol = await party("Carol");
      mallory.client.handle(acceptAll(mallory));
      carol.client.handle(acceptAll(carol));
      const [m, c] = await openChannel(ctx, mallory, carol, [100n, 1n]);
      const stale = m.current;
      for (let i = 0; i < 3; i++) await m.update(pay(m.idx, 20n), { signal: ctx.signal });
      expect(m.state.version).toBe(3n);

      // An observer that counts an event only at 3 confirmations, like a mainnet-style watcher.
      const deepChain = (txTimeoutMs?: number) =>
        new EthChain({
          client: e.anvil.rpcUrl,
          confirmations: 3,
          pollingIntervalMs: 10,
          ...(txTimeoutMs === undefined ? {} : { txTimeoutMs }),
        });
      const observer = await new EthAdjudicator({
        chain: deepChain(),
        adjudicator: e.deployment.adjudicator,
      }).subscribe(m.id);
      const seen: { type: string; version: bigint }[] = [];
      const observing = (async () => {
        for await (const ev of observer) seen.push({ type: ev.type, version: ev.version });
      })();

      const beforeStale = await e.testClient.snapshot();
      // Mallory registers the stale v0 with a chain that waits for 3 confirmations.
      let outcome = "pending";
      const registering = new EthAdjudicator({
        chain: deepChain(3_000),
        adjudicator: e.deployment.adjudicator,
      })
        .register(
          { params: m.params, account: mallory.participant, tx: stale, idx: m.idx, secondary: false },
          [],
          {
            signal: ctx.signal,
          },
        )
        .then(
          () => {
            outcome = "succeeded";
          },
          (err: unknown) => {
            outcome = err instanceof TxTimedOutError ? "timed out" : String(err);
          },
        );
      await untilChainVersion(m.id, 0n); // mined, 1 block deep
      await e.testClient.mine({ blocks: 1 }); // 2 blocks deep: still short of 3
      await new Promise((r) => setTimeout(r, 300));
      expect(seen).toEqual([]);
      expect(outcome).toBe("pending");

      // The reorg: the registration's blocks are replaced by empty ones.
      await e.testClient.revert({ id: beforeStale });
      expect((await chainView().dispute(m.id)).registered).toBe(false);
      await e.testClient.mine({ blocks: 4 });
      await registering;
      expect(outcome).toBe("timed out"); // never reported as done
      expect(seen).toEqual([]); // never reported as an event
      expect((await chainView().dispute(m.id)).registered).toBe(false);

      // The honest outcome: Carol registers the latest state; after the dispute both are paid 40/61.
      await c.register({ signal: ctx.signal });
      await e.testClient.mine({ blocks: 3 });
      for (let i = 0; i < 500 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(seen).toEqual([{ type: "registered", version: 3n }]);
      observer.close();
      await observing;
      await ctx.ledger.advanceTime(setup.challengeDuration);
      await Promise.all([c.settle({ signal: ctx.signal }), m.settle({ signal: ctx.signal })]);
      expect(await ctx.ledger.balanceOf(mallory.participant.address)).toBe(INITIAL_LEDGER_BALANCE - 60n);
      expect(await ctx.ledger.balanceOf(carol.participant.address)).toBe(INITIAL_LEDGER_BALANCE + 60n);
    });
  });

  // Runs last: it reverts the chain to its own snapshot.
  it("a peer deposit reorged away before its confirmations is not counted: funding times out naming that peer", async () => {
    const e = env();
    const [alice, bob] = [e.accounts[5], e.accounts[6]] as [EthAccount, EthAccount];
    const params = Params.create(
      {
        challengeDuration: 60n,
        parts: [alice.address, bob.address],
        app: noApp,
        nonce: 777n,
        ledgerChannel: true,
        virtualChannel: false,
      },
      setup.backend,
    );
    const state = makeInitialState(params, {
      assets: [e.deployment.ethAsset],
      balances: [[10n, 20n]],
      locked: [],
    });
    const funder = (account: EthAccount, confirmations: number) =>
      new EthFunder({
        chain: new EthChain({ client: e.anvil.rpcUrl, confirmations, pollingIntervalMs: 10 }),
        account,
        fundingTimeout: 30n,
        depositors: [{ asset: e.deployment.ethAsset, depositor: new EthDepositor() }],
      });
    const req = (idx: number) => ({
      params,
      state,
      idx,
      agreement: state.allocation.balances.map((row) => [...row]),
    });
    // Alice needs 3 confirmations; her own deposit goes in first
    const aliceFunding = funder(alice, 3).fund(req(0));
    aliceFunding.catch(() => undefined); // awaited below
    const view = (idx: number) =>
      e.chain.client.readContract({
        address: e.deployment.ethAsset.hex,
        abi: assetHolderAbi,
        functionName: "holdings",
        args: [bytesToHex0x(fundingIdOf(params.id, params.parts[idx] as EthAccount["address"]))],
      });
    for (let i = 0; i < 500 && (await view(0)) < 10n; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await view(0)).toBe(10n);
    const beforeBob = await e.testClient.snapshot();
    // Bob deposits (1 block deep), then a reorg removes his deposit before Alice counts it
    await funder(bob, 1).fund(req(1));
    expect(await view(1)).toBe(20n);
    await e.testClient.revert({ id: beforeBob });
    expect(await view(1)).toBe(0n);
    await e.testClient.mine({ blocks: 3 }); // Alice's own deposit is confirmed now, Bob's never was
    await e.advanceTime(31n);
    const err = await aliceFunding.then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(err).toBeInstanceOf(FundingTimeoutError);
    const perAsset = (err as FundingTimeoutError).errors as EthAssetFundingError[];
    expect(perAsset.map((a) => a.timedOutPeers)).toEqual([[1]]);
    expect(perAsset[0]?.peerAddresses).toEqual([bob.address.toString()]);
  });
});
