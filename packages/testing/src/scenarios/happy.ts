import assert from "node:assert/strict";
import { ResponderUsedError } from "@perun-ts/client";
import { Phase } from "@perun-ts/core";
import { balancesOf, INITIAL_LEDGER_BALANCE, openChannel, pay, withScenario } from "./party.js";
import type { ScenarioSetup } from "./setup.js";

/**
 * Happy Alice/Bob (spec §9.2 `TestHappyAliceBob`): open 100/100, Bob pays 2×5, Alice pays 2×3,
 * Bob proposes the final state, both settle (Bob secondary). With `withApp` the channel runs the
 * payment app. Also checks that a proposal responder cannot be used twice.
 */
export async function happyAliceBob(setup: ScenarioSetup, withApp: boolean): Promise<void> {
  await withScenario(setup, async (ctx, party) => {
    const alice = await party("Alice");
    const bob = await party("Bob");
    alice.client.handle({
      onProposal: (_p, r) => r.reject("Alice accepts no proposals"),
      onUpdate: (_ch, _cur, _u, r) => r.accept(),
    });
    let reportSecondUse!: (e: unknown) => void;
    const secondUse = new Promise<unknown>((resolve) => {
      reportSecondUse = resolve;
    });
    bob.client.handle({
      onProposal: async (_p, r) => {
        await r.accept({ participant: bob.participant.address });
        reportSecondUse(await r.reject("too late").catch((e: unknown) => e));
      },
      onUpdate: (_ch, _cur, _u, r) => r.accept(),
    });
    const [a, b] = await openChannel(ctx, alice, bob, [100n, 100n], withApp ? ctx.paymentApp : undefined);
    assert.ok(
      (await secondUse) instanceof ResponderUsedError,
      "a second responder call fails with ResponderUsedError",
    );
    assert.equal(a.idHex, b.idHex);
    assert.equal(a.phase, Phase.Acting);

    const expected = [100n, 100n];
    const step = async (payer: 0 | 1, amount: bigint) => {
      const ch = payer === 0 ? a : b;
      await ch.update(pay(ch.idx, amount), { signal: ctx.signal });
      expected[payer] = (expected[payer] as bigint) - amount;
      expected[payer ^ 1] = (expected[payer ^ 1] as bigint) + amount;
      assert.deepEqual(balancesOf(a), expected);
      assert.deepEqual(balancesOf(b), expected);
    };
    await step(1, 5n);
    await step(1, 5n);
    await step(0, 3n);
    await step(0, 3n);

    await b.update((s) => ({ ...s, isFinal: true }), { signal: ctx.signal });
    assert.equal(a.phase, Phase.Final);
    assert.equal(b.phase, Phase.Final);
    assert.equal(a.state.version, 5n);

    await Promise.all([a.settle({ signal: ctx.signal }), b.settle({ signal: ctx.signal, secondary: true })]);
    assert.equal(await ctx.ledger.balanceOf(alice.participant.address), INITIAL_LEDGER_BALANCE + 4n);
    assert.equal(await ctx.ledger.balanceOf(bob.participant.address), INITIAL_LEDGER_BALANCE - 4n);
    assert.equal(alice.client.channel(a.id), undefined, "a settled channel leaves the client");
  });
}
