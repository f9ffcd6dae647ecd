import assert from "node:assert/strict";
import { UpdateConflictError } from "@perun-ts/client";
import { stateEquals } from "@perun-ts/core";
import { acceptAll, balancesOf, INITIAL_LEDGER_BALANCE, openChannel, pay, withScenario } from "./party.js";
import type { ScenarioSetup } from "./setup.js";

/**
 * Concurrent updates: Alice (index 0) and Bob (index 1) propose version 1 at the same time. The
 * lower index wins: Alice's update succeeds, Bob's fails with `UpdateConflictError`; both hold the
 * same state. Repeated three times, then both settle with exact balances.
 */
export async function concurrentUpdates(setup: ScenarioSetup): Promise<void> {
  await withScenario(setup, async (ctx, party) => {
    const alice = await party("Alice");
    const bob = await party("Bob");
    alice.client.handle(acceptAll(alice));
    bob.client.handle(acceptAll(bob));
    const [a, b] = await openChannel(ctx, alice, bob, [50n, 50n]);
    for (let round = 1n; round <= 3n; round++) {
      const [ra, rb] = await Promise.allSettled([
        a.update(pay(a.idx, 2n), { signal: ctx.signal }),
        b.update(pay(b.idx, 1n), { signal: ctx.signal }),
      ]);
      assert.equal(
        ra.status,
        "fulfilled",
        `Alice's update fails: ${ra.status === "rejected" ? ra.reason : ""}`,
      );
      assert.equal(rb.status, "rejected");
      assert.ok(rb.reason instanceof UpdateConflictError, `Bob's update fails with ${String(rb.reason)}`);
      assert.equal(a.state.version, round);
      assert.ok(stateEquals(a.state, b.state), "both ends hold the same state");
    }
    assert.deepEqual(balancesOf(b), [44n, 56n]);
    await b.update((s) => ({ ...s, isFinal: true }), { signal: ctx.signal });
    await Promise.all([a.settle({ signal: ctx.signal }), b.settle({ signal: ctx.signal, secondary: true })]);
    assert.equal(await ctx.ledger.balanceOf(alice.participant.address), INITIAL_LEDGER_BALANCE - 6n);
    assert.equal(await ctx.ledger.balanceOf(bob.participant.address), INITIAL_LEDGER_BALANCE + 6n);
  });
}
