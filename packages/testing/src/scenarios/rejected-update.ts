import assert from "node:assert/strict";
import { PeerRejectedError } from "@perun-ts/core";
import { acceptAll, balancesOf, INITIAL_LEDGER_BALANCE, openChannel, pay, withScenario } from "./party.js";
import type { ScenarioSetup } from "./setup.js";

/**
 * Rejected update: Bob rejects Alice's first payment (Alice gets `PeerRejectedError` with Bob's
 * reason, nothing changes on either side), accepts the second; final update and settle.
 */
export async function rejectedUpdate(setup: ScenarioSetup): Promise<void> {
  await withScenario(setup, async (ctx, party) => {
    const alice = await party("Alice");
    const bob = await party("Bob");
    alice.client.handle(acceptAll(alice));
    let rejectNext = true;
    bob.client.handle({
      ...acceptAll(bob),
      onUpdate: async (_ch, _cur, _u, r) => {
        if (rejectNext) {
          rejectNext = false;
          await r.reject("not today");
        } else await r.accept();
      },
    });
    const [a, b] = await openChannel(ctx, alice, bob, [50n, 50n]);
    const err = await a.update(pay(a.idx, 10n), { signal: ctx.signal }).catch((e: unknown) => e);
    assert.ok(err instanceof PeerRejectedError, `expected PeerRejectedError, got ${String(err)}`);
    assert.equal(err.reason, "not today");
    assert.equal(a.state.version, 0n);
    assert.equal(b.state.version, 0n);

    await a.update(pay(a.idx, 10n), { signal: ctx.signal });
    assert.deepEqual(balancesOf(a), [40n, 60n]);
    assert.deepEqual(balancesOf(b), [40n, 60n]);
    await a.update((s) => ({ ...s, isFinal: true }), { signal: ctx.signal });
    await Promise.all([a.settle({ signal: ctx.signal }), b.settle({ signal: ctx.signal, secondary: true })]);
    assert.equal(await ctx.ledger.balanceOf(alice.participant.address), INITIAL_LEDGER_BALANCE - 10n);
    assert.equal(await ctx.ledger.balanceOf(bob.participant.address), INITIAL_LEDGER_BALANCE + 10n);
  });
}
