import assert from "node:assert/strict";
import { Phase } from "@perun-ts/core";
import {
  acceptAll,
  balancesOf,
  INITIAL_LEDGER_BALANCE,
  openChannel,
  watchChannel,
  withScenario,
} from "./party.js";
import type { ScenarioSetup } from "./setup.js";

function split(bals: readonly [bigint, bigint]) {
  return (s: import("@perun-ts/core").State) => ({
    ...s,
    allocation: { ...s.allocation, balances: [[...bals]] },
  });
}

/**
 * Progression Paul/Paula (spec §9.2 `TestProgression`): an app channel 99/1. Paul force-updates
 * (registers, the dispute window passes on the ledger clock, progresses to 50/50); Paula sees the
 * registration and the progression and force-updates again (Paula +10); both see both
 * progressions, the force-execution window passes and both settle.
 */
export async function progressionPaulPaula(setup: ScenarioSetup): Promise<void> {
  await withScenario(setup, async (ctx, party) => {
    const paul = await party("Paul");
    const paula = await party("Paula");
    paul.client.handle(acceptAll(paul));
    paula.client.handle(acceptAll(paula));
    const [a, b] = await openChannel(ctx, paul, paula, [99n, 1n], ctx.trivialApp);
    await watchChannel(paul, a);
    await watchChannel(paula, b);

    const paulForce = a.forceUpdate(split([50n, 50n]), { signal: ctx.signal });
    await paula.event((e) => e.type === "registered");
    await paul.event((e) => e.type === "registered");
    await ctx.ledger.advanceTime(setup.challengeDuration);
    await paulForce;
    await paula.event((e) => e.type === "progressed" && e.version === 1n);
    assert.equal(b.phase, Phase.Progressed);
    assert.deepEqual(balancesOf(b), [50n, 50n]);

    await b.forceUpdate(split([40n, 60n]), { signal: ctx.signal });
    await paul.event((e) => e.type === "progressed" && e.version === 2n);
    await paula.event((e) => e.type === "progressed" && e.version === 2n);
    assert.deepEqual(balancesOf(a), [40n, 60n]);

    await ctx.ledger.advanceTime(setup.challengeDuration);
    await Promise.all([a.settle({ signal: ctx.signal }), b.settle({ signal: ctx.signal, secondary: true })]);
    assert.equal(await ctx.ledger.balanceOf(paul.participant.address), INITIAL_LEDGER_BALANCE - 99n + 40n);
    assert.equal(await ctx.ledger.balanceOf(paula.participant.address), INITIAL_LEDGER_BALANCE - 1n + 60n);
  });
}
