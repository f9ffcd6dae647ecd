import assert from "node:assert/strict";
import { ledgerChannelProposal } from "@perun-ts/client";
import { type State, transfer } from "@perun-ts/core";
import { type ChannelProposalRejMessage, type ChannelUpdateRejMessage, MessageType } from "@perun-ts/wire";
import { acceptAll, balancesOf, INITIAL_LEDGER_BALANCE, openChannel, withScenario } from "./party.js";
import type { ScenarioSetup } from "./setup.js";

/**
 * Invalid input is answered with a rejection carrying the reason, never dropped (spec §11.1):
 * Mallory sends Carol an update that creates money (properly signed) and one with a bad
 * signature, and a proposal whose funding agreement does not fund the balances. Carol's channel
 * is unchanged and still works; balances are exact after settling.
 */
export async function invalidMessagesRejected(setup: ScenarioSetup): Promise<void> {
  await withScenario(setup, async (ctx, party) => {
    const mallory = await party("Mallory");
    const carol = await party("Carol");
    mallory.client.handle(acceptAll(mallory));
    carol.client.handle(acceptAll(carol));
    const [m, c] = await openChannel(ctx, mallory, carol, [10n, 10n]);
    const from = m.state;

    const send = async (state: State, sig: Uint8Array) => {
      const answer = mallory.bus.next(
        (env) => env.message.type === MessageType.ChannelUpdateRej && env.message.version === state.version,
        ctx.signal,
      );
      await mallory.bus.publish(
        {
          sender: mallory.wire.address,
          recipient: carol.wire.address,
          message: { type: MessageType.ChannelUpdate, state, actorIdx: m.idx, sig },
        },
        { signal: ctx.signal },
      );
      return (await answer).message as ChannelUpdateRejMessage;
    };

    // More money than the channel holds, properly signed.
    const inflated: State = {
      ...from,
      version: from.version + 1n,
      allocation: { ...from.allocation, balances: [[10n, 1000n]] },
    };
    const rej1 = await send(inflated, await setup.backend.sign(mallory.participant, inflated));
    assert.match(rej1.reason, /sum/);

    // A valid state, signed by the wrong key.
    const paid: State = {
      ...from,
      version: from.version + 1n,
      allocation: transfer(from.allocation, 0, 1, [1n]),
    };
    const rej2 = await send(paid, await setup.backend.sign(carol.wire, paid));
    assert.match(rej2.reason, /signature/);
    assert.equal(c.state.version, 0n);

    // A proposal whose funding agreement does not fund the initial balances.
    const bad = {
      ...ledgerChannelProposal({
        challengeDuration: setup.challengeDuration,
        participant: mallory.participant.address,
        initBals: { assets: [ctx.ledger.asset], balances: [[5n, 5n]], locked: [] },
        peers: [mallory.wire.address, carol.wire.address],
      }),
      fundingAgreement: [[1n, 1n]],
    };
    const answer = mallory.bus.next((env) => env.message.type === MessageType.ChannelProposalRej, ctx.signal);
    await mallory.bus.publish(
      { sender: mallory.wire.address, recipient: carol.wire.address, message: bad },
      { signal: ctx.signal },
    );
    assert.match(((await answer).message as ChannelProposalRejMessage).reason, /funding agreement/);

    // The channel still works.
    await m.update((s) => ({ ...s, allocation: transfer(s.allocation, m.idx, c.idx, [3n]) }), {
      signal: ctx.signal,
    });
    assert.deepEqual(balancesOf(c), [7n, 13n]);
    await m.update((s) => ({ ...s, isFinal: true }), { signal: ctx.signal });
    await Promise.all([m.settle({ signal: ctx.signal }), c.settle({ signal: ctx.signal, secondary: true })]);
    assert.equal(await ctx.ledger.balanceOf(mallory.participant.address), INITIAL_LEDGER_BALANCE - 3n);
    assert.equal(await ctx.ledger.balanceOf(carol.participant.address), INITIAL_LEDGER_BALANCE + 3n);
  });
}
