import assert from "node:assert/strict";
import type { RegisteredEvent } from "@perun-ts/core";
import { acceptAll, INITIAL_LEDGER_BALANCE, openChannel, pay, watchChannel, withScenario } from "./party.js";
import type { ScenarioSetup } from "./setup.js";

/**
 * Dispute Mallory/Carol (spec §9.2 `TestDispute`): 100/1, Mallory pays 5×20, then registers the
 * stale version 0. Carol's watcher refutes with the latest state; Carol sees both registrations,
 * lets the dispute time out (ledger clock) and settles. Mallory's withdrawal with the stale state
 * fails; settling the latest state works.
 */
export async function disputeMalloryCarol(setup: ScenarioSetup): Promise<void> {
  await withScenario(setup, async (ctx, party) => {
    const mallory = await party("Mallory");
    const carol = await party("Carol");
    mallory.client.handle(acceptAll(mallory));
    carol.client.handle(acceptAll(carol));
    const [m, c] = await openChannel(ctx, mallory, carol, [100n, 1n]);
    const stale = m.current;
    await watchChannel(carol, c);
    for (let i = 0; i < 5; i++) await m.update(pay(m.idx, 20n), { signal: ctx.signal });
    const latest = c.state.version;
    assert.equal(latest, 5n);

    // Mallory registers the stale state behind the protocol's back.
    await mallory.adjudicator.register(
      { params: m.params, account: mallory.participant, tx: stale, idx: m.idx, secondary: false },
      [],
      { signal: ctx.signal },
    );
    const refuted = (await carol.event(
      (e) => e.type === "registered" && e.version === latest,
    )) as RegisteredEvent;
    const registered = carol.events.filter((e) => e.type === "registered").map((e) => e.version);
    assert.deepEqual(registered, [0n, latest], "Carol sees the stale registration, then the refutation");
    assert.equal(refuted.version, latest);

    await ctx.ledger.advanceTime(setup.challengeDuration);
    // The stale state cannot be concluded any more.
    await assert.rejects(
      mallory.adjudicator.withdraw(
        { params: m.params, account: mallory.participant, tx: stale, idx: m.idx, secondary: false },
        new Map(),
        { signal: ctx.signal },
      ),
    );
    await c.settle({ signal: ctx.signal });
    await m.settle({ signal: ctx.signal });
    assert.equal(await ctx.ledger.balanceOf(mallory.participant.address), INITIAL_LEDGER_BALANCE - 100n);
    assert.equal(await ctx.ledger.balanceOf(carol.participant.address), INITIAL_LEDGER_BALANCE + 100n);
  });
}
