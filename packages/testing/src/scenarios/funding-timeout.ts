import assert from "node:assert/strict";
import { type Channel, ChannelNotFundedError, ledgerChannelProposal } from "@perun-ts/client";
import { AbortError, type Funder, Phase } from "@perun-ts/core";
import { INITIAL_LEDGER_BALANCE, withScenario } from "./party.js";
import type { ScenarioSetup } from "./setup.js";

/** A funder that never deposits (waits until aborted) and reports when it was asked to fund. */
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
 * Funding timeout with recovery (go-perun #42/#344): Bob accepts but never deposits. Alice's
 * funding times out on the ledger clock; `proposeChannel` fails with `ChannelNotFundedError`
 * carrying the channel, and `settle` on it (a dispute) gets Alice's deposit back.
 */
export async function fundingTimeoutRecovery(setup: ScenarioSetup): Promise<void> {
  await withScenario(setup, async (ctx, party) => {
    const alice = await party("Alice");
    const bobFunder = neverFunds();
    const bob = await party("Bob", { funder: bobFunder });
    const bobGaveUp = new AbortController();
    let bobResult: Promise<unknown> = Promise.resolve();
    alice.client.handle({
      onProposal: (_p, r) => r.reject("no"),
      onUpdate: (_c, _s, _u, r) => r.reject("no"),
    });
    bob.client.handle({
      onProposal: (_p, r) => {
        bobResult = r
          .accept({ participant: bob.participant.address, signal: bobGaveUp.signal })
          .catch((e) => e);
      },
      onUpdate: (_c, _s, _u, r) => r.reject("no"),
    });
    const proposing = alice.client
      .proposeChannel(
        ledgerChannelProposal({
          challengeDuration: setup.challengeDuration,
          participant: alice.participant.address,
          initBals: { assets: [ctx.ledger.asset], balances: [[100n, 100n]], locked: [] },
          peers: [alice.wire.address, bob.wire.address],
        }),
        { signal: ctx.signal },
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    // Wait until Alice's deposit is on the ledger, then let the funding deadline pass.
    while ((await ctx.ledger.balanceOf(alice.participant.address)) === INITIAL_LEDGER_BALANCE) {
      await new Promise((r) => setTimeout(r, 5));
    }
    await ctx.ledger.advanceTime(setup.challengeDuration + 1n);
    const err = await proposing;
    assert.ok(err instanceof ChannelNotFundedError, `expected ChannelNotFundedError, got ${String(err)}`);
    const ch: Channel = err.channel;
    assert.equal(ch.phase, Phase.Funding);
    assert.equal(alice.client.channel(ch.id), ch, "the unfunded channel stays available for recovery");

    const settling = ch.settle({ signal: ctx.signal });
    await alice.adjudicator.subscribe(ch.id, { signal: ctx.signal }).then(async (sub) => {
      for await (const e of sub) if (e.type === "registered") break;
      sub.close();
    });
    await ctx.ledger.advanceTime(setup.challengeDuration);
    await settling;
    await bobFunder.called; // Bob completed the opening up to funding
    bobGaveUp.abort(new Error("Bob gives up"));
    const bobErr = await bobResult;
    assert.ok(bobErr instanceof ChannelNotFundedError, `Bob: ${String(bobErr)}`);
    assert.equal(await ctx.ledger.balanceOf(alice.participant.address), INITIAL_LEDGER_BALANCE);
    assert.equal(await ctx.ledger.balanceOf(bob.participant.address), INITIAL_LEDGER_BALANCE);
  });
}
