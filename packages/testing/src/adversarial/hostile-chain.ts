import assert from "node:assert/strict";
import { type Channel, ChannelNotFundedError, ledgerChannelProposal } from "@perun-ts/client";
import {
  AbortError,
  type AdjudicatorReq,
  type Funder,
  Phase,
  type State,
  type Transaction,
  transfer,
} from "@perun-ts/core";
import {
  acceptAll,
  INITIAL_LEDGER_BALANCE,
  openChannel,
  type Party,
  pay,
  type ScenarioContext,
  watchChannel,
  withScenario,
} from "../scenarios/party.js";
import type { ScenarioSetup } from "../scenarios/setup.js";

function req(party: Party, ch: Channel, tx: Transaction): AdjudicatorReq {
  return { params: ch.params, account: party.participant, tx, idx: ch.idx, secondary: false };
}

/** Pays `n` times `amount` from `from`'s side and returns every fully signed transaction, oldest first. */
async function payRounds(
  ctx: ScenarioContext,
  from: Channel,
  n: number,
  amount: bigint,
): Promise<Transaction[]> {
  const txs = [from.current];
  for (let i = 0; i < n; i++) {
    await from.update(pay(from.idx, amount), { signal: ctx.signal });
    txs.push(from.current);
  }
  return txs;
}

/** Counts how many of `attempts` settled as rejections. */
async function rejectedCount(attempts: Promise<unknown>[]): Promise<number> {
  const results = await Promise.allSettled(attempts);
  return results.filter((r) => r.status === "rejected").length;
}

/**
 * Stale registrations while the victim is offline (its client does nothing; only its watcher
 * runs), in repeated races: Mallory pays Carol 5×10, then fires registrations of all her old
 * states at once, waits for the refutation, tries again with another old state, then concludes
 * first with the latest state and withdraws twice. Carol comes back and settles: she gets exactly
 * her latest balance, Mallory nothing more than hers.
 */
export async function staleRegistrationRaces(setup: ScenarioSetup): Promise<void> {
  await withScenario(setup, async (ctx, party) => {
    const mallory = await party("Mallory");
    const carol = await party("Carol");
    mallory.client.handle(acceptAll(mallory));
    carol.client.handle(acceptAll(carol));
    const [m, c] = await openChannel(ctx, mallory, carol, [100n, 100n]);
    await watchChannel(carol, c);
    const txs = await payRounds(ctx, m, 5, 10n);
    const latest = txs[txs.length - 1] as Transaction;
    const latestVersion = (latest.state as State).version;

    // Round 1: every old state at once (the ledger orders them; some fail with "invalid version").
    await rejectedCount(
      txs.slice(0, -1).map((tx) => mallory.adjudicator.register(req(mallory, m, tx), [], {})),
    );
    await carol.event((e) => e.type === "registered" && e.version === latestVersion);
    // Round 2..4: one older state after another, each after the refutation landed: all must fail.
    for (const tx of txs.slice(1, 4).reverse()) {
      await assert.rejects(
        mallory.adjudicator.register(req(mallory, m, tx), [], {}),
        "a stale state after the refutation",
      );
    }
    // Invalid progress on a channel without an app.
    await assert.rejects(
      mallory.adjudicator.progress(
        {
          ...req(mallory, m, latest),
          newState: { ...(latest.state as State), version: latestVersion + 1n },
          sig: new Uint8Array(65),
        },
        {},
      ),
      "progress of a channel without an app",
    );
    await ctx.ledger.advanceTime(setup.challengeDuration);
    // Mallory concludes first with a stale state: refused; with the latest one: fine, twice.
    await assert.rejects(mallory.adjudicator.withdraw(req(mallory, m, txs[0] as Transaction), new Map(), {}));
    await mallory.adjudicator.withdraw(req(mallory, m, latest), new Map(), {});
    const afterFirst = await ctx.ledger.balanceOf(mallory.participant.address);
    await mallory.adjudicator.withdraw(req(mallory, m, latest), new Map(), {}).catch(() => {});
    await mallory.adjudicator.withdraw(req(mallory, m, txs[0] as Transaction), new Map(), {}).catch(() => {});
    assert.equal(
      await ctx.ledger.balanceOf(mallory.participant.address),
      afterFirst,
      "a second withdrawal pays nothing",
    );
    assert.equal(afterFirst, INITIAL_LEDGER_BALANCE - 50n);

    // Carol comes back online and settles: the channel was concluded with her latest state.
    await c.settle({ signal: ctx.signal });
    assert.equal(await ctx.ledger.balanceOf(carol.participant.address), INITIAL_LEDGER_BALANCE + 50n);
    await c.settle({ signal: ctx.signal }).catch(() => {}); // settling twice pays nothing twice
    assert.equal(await ctx.ledger.balanceOf(carol.participant.address), INITIAL_LEDGER_BALANCE + 50n);
  });
}

/**
 * Invalid progressions of an app channel: Mallory registers a stale state (refuted by Paul's
 * watcher), then tries progressions that skip a version, inflate the sum, carry a signature of
 * the wrong key, start from the stale state, or come before the dispute window ended. All fail;
 * Paul's registered state stands and settles with his exact balance.
 */
export async function invalidProgressions(setup: ScenarioSetup): Promise<void> {
  await withScenario(setup, async (ctx, party) => {
    const mallory = await party("Mallory");
    const paul = await party("Paul");
    mallory.client.handle(acceptAll(mallory));
    paul.client.handle(acceptAll(paul));
    const [m, p] = await openChannel(ctx, mallory, paul, [60n, 40n], ctx.trivialApp);
    await watchChannel(paul, p);
    const txs = await payRounds(ctx, m, 2, 5n);
    const latest = txs[2] as Transaction;
    const latestState = latest.state as State;
    await mallory.adjudicator.register(req(mallory, m, txs[0] as Transaction), [], {});
    await paul.event((e) => e.type === "registered" && e.version === latestState.version);

    const next = (over: Partial<State>): State => ({
      ...latestState,
      version: latestState.version + 1n,
      ...over,
    });
    const progress = async (from: Transaction, newState: State, signer = mallory.participant, idx = m.idx) =>
      mallory.adjudicator.progress(
        {
          params: m.params,
          account: mallory.participant,
          tx: from,
          idx,
          secondary: false,
          newState,
          sig: await setup.backend.sign(signer, newState),
        },
        {},
      );
    const fair = next({ allocation: transfer(latestState.allocation, p.idx, m.idx, [1n]) });
    await assert.rejects(progress(latest, fair), "progress during the dispute window");
    await ctx.ledger.advanceTime(setup.challengeDuration);
    await assert.rejects(
      progress(latest, { ...fair, version: latestState.version + 2n }),
      "a skipped version",
    );
    const inflated = next({
      allocation: { ...latestState.allocation, balances: [[1_000n, 40n]] },
    });
    await assert.rejects(progress(latest, inflated), "an inflated sum");
    await assert.rejects(progress(latest, fair, paul.wire, m.idx), "a signature of the wrong key");
    await assert.rejects(
      progress(latest, fair, mallory.participant, p.idx),
      "a signature for the wrong actor",
    );
    await assert.rejects(progress(txs[0] as Transaction, fair), "progress from the stale state");

    // Paul settles: the dispute (and the app channel's force-execution window) passes.
    const settling = p.settle({ signal: ctx.signal });
    for (let i = 0; i < 3; i++) await ctx.ledger.advanceTime(setup.challengeDuration);
    await settling;
    const paulBalance = latestState.allocation.balances[0]?.[p.idx] as bigint;
    assert.equal(
      await ctx.ledger.balanceOf(paul.participant.address),
      INITIAL_LEDGER_BALANCE - 40n + paulBalance,
    );
  });
}

/** A funder that never deposits (until aborted) and reports its call. */
function neverFunds(): Funder & { readonly called: Promise<void> } {
  let reportCall!: () => void;
  const called = new Promise<void>((resolve) => {
    reportCall = resolve;
  });
  return {
    called,
    fund: (_req, opts = {}) =>
      new Promise<void>((_resolve, reject) => {
        reportCall();
        const { signal } = opts;
        if (signal?.aborted) reject(new AbortError(signal.reason));
        signal?.addEventListener("abort", () => reject(new AbortError(signal.reason)), { once: true });
      }),
  };
}

/**
 * A peer that never funds and then turns hostile: Alice's funding times out; she recovers her
 * deposit by a dispute while Bob registers the version-0 state himself and tries to withdraw
 * what he never paid. Alice ends with exactly her initial ledger balance, Bob with his.
 */
export async function neverFundingPeer(setup: ScenarioSetup): Promise<void> {
  await withScenario(setup, async (ctx, party) => {
    const alice = await party("Alice");
    const bobFunder = neverFunds();
    const bob = await party("Bob", { funder: bobFunder });
    const bobGaveUp = new AbortController();
    let bobChannel: Promise<Channel | undefined> = Promise.resolve(undefined);
    alice.client.handle({
      onProposal: (_p, r) => r.reject("no"),
      onUpdate: (_c, _s, _u, r) => r.reject("no"),
    });
    bob.client.handle({
      onProposal: (_p, r) => {
        bobChannel = r.accept({ participant: bob.participant.address, signal: bobGaveUp.signal }).then(
          () => undefined,
          (e: unknown) => (e instanceof ChannelNotFundedError ? e.channel : undefined),
        );
      },
      onUpdate: (_c, _s, _u, r) => r.reject("no"),
    });
    const proposing = alice.client
      .proposeChannel(
        ledgerChannelProposal({
          challengeDuration: setup.challengeDuration,
          participant: alice.participant.address,
          initBals: { assets: [ctx.ledger.asset], balances: [[70n, 30n]], locked: [] },
          peers: [alice.wire.address, bob.wire.address],
        }),
        { signal: ctx.signal },
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    while ((await ctx.ledger.balanceOf(alice.participant.address)) === INITIAL_LEDGER_BALANCE) {
      await new Promise((r) => setTimeout(r, 5));
    }
    await bobFunder.called;
    await ctx.ledger.advanceTime(setup.challengeDuration + 1n);
    const err = await proposing;
    assert.ok(err instanceof ChannelNotFundedError, `expected ChannelNotFundedError, got ${String(err)}`);
    const a = err.channel;
    assert.equal(a.phase, Phase.Funding);
    bobGaveUp.abort(new Error("Bob gives up funding"));
    const b = await bobChannel;
    assert.ok(b, "Bob holds the unfunded channel too");

    // Bob registers version 0 first and tries to take his "share".
    await bob.adjudicator.register(req(bob, b, b.current), [], {});
    const settling = a.settle({ signal: ctx.signal });
    await alice.adjudicator.subscribe(a.id, { signal: ctx.signal }).then(async (sub) => {
      for await (const e of sub) if (e.type === "registered") break;
      sub.close();
    });
    await ctx.ledger.advanceTime(setup.challengeDuration);
    await settling;
    await bob.adjudicator.withdraw(req(bob, b, b.current), new Map(), {}).catch(() => {});
    await bob.adjudicator.withdraw(req(bob, b, b.current), new Map(), {}).catch(() => {});
    assert.equal(await ctx.ledger.balanceOf(alice.participant.address), INITIAL_LEDGER_BALANCE);
    assert.equal(await ctx.ledger.balanceOf(bob.participant.address), INITIAL_LEDGER_BALANCE);
  });
}

/**
 * The peer registers the latest state and concludes first (honestly, but without telling):
 * Carol's client follows the chain and withdraws exactly her balance; a second settle pays nothing.
 */
export async function peerConcludesFirst(setup: ScenarioSetup): Promise<void> {
  await withScenario(setup, async (ctx, party) => {
    const mallory = await party("Mallory");
    const carol = await party("Carol");
    mallory.client.handle(acceptAll(mallory));
    carol.client.handle(acceptAll(carol));
    const [m, c] = await openChannel(ctx, mallory, carol, [30n, 70n]);
    await watchChannel(carol, c);
    await payRounds(ctx, c, 3, 5n);
    await mallory.adjudicator.register(req(mallory, m, m.current), [], {});
    await carol.event((e) => e.type === "registered");
    await ctx.ledger.advanceTime(setup.challengeDuration);
    await mallory.adjudicator.withdraw(req(mallory, m, m.current), new Map(), {});
    await carol.event((e) => e.type === "concluded");
    await c.settle({ signal: ctx.signal });
    assert.equal(await ctx.ledger.balanceOf(carol.participant.address), INITIAL_LEDGER_BALANCE - 15n);
    assert.equal(await ctx.ledger.balanceOf(mallory.participant.address), INITIAL_LEDGER_BALANCE + 15n);
  });
}
