import assert from "node:assert/strict";
import { type Channel, ChannelNotFundedError, channelNonce, subChannelProposal } from "@perun-ts/client";
import {
  type App,
  channelIdEquals,
  makeInitialState,
  noApp,
  Params,
  type State,
  transfer,
} from "@perun-ts/core";
import { type ChannelUpdateRejMessage, MessageType, type SubChannelProposalAccMessage } from "@perun-ts/wire";
import {
  acceptAll,
  balancesOf,
  INITIAL_LEDGER_BALANCE,
  openChannel,
  type Party,
  pay,
  type ScenarioContext,
  watchChannel,
  withScenario,
} from "./party.js";
import type { ScenarioSetup } from "./setup.js";

/**
 * Opens a sub-channel of `parent` (the proposer's end) with `balances` taken from the parent's
 * participants. Returns the proposer's and the responder's ends.
 */
export async function openSubChannel(
  ctx: ScenarioContext,
  proposer: Party,
  responder: Party,
  parent: Channel,
  balances: readonly [bigint, bigint],
  app: App = noApp,
): Promise<[Channel, Channel]> {
  const accepted = new Promise<Channel>((resolve) => {
    const off = responder.client.onNewChannel((ch) => {
      off();
      resolve(ch);
    });
  });
  const ch = await proposer.client.proposeChannel(
    subChannelProposal({
      parent: parent.id,
      challengeDuration: ctx.setup.challengeDuration,
      initBals: { assets: [ctx.ledger.asset], balances: [[...balances]], locked: [] },
      app,
    }),
    { signal: ctx.signal },
  );
  return [ch, await accepted];
}

/** Makes `ch` final (proposed by `ch`'s owner). */
async function finalize(ch: Channel, signal: AbortSignal): Promise<void> {
  await ch.update((s) => ({ ...s, isFinal: true }), { signal });
}

/**
 * Sub-channels Susie/Tim (spec §9.2 `TestSubChannelHappy`): ledger 100/100; sub-channels 10/10
 * (proposed by Susie) and 5/5 (proposed by Tim); three payment-app sub-sub-channels 3/3, 2/2, 1/1
 * in the first; a transfer of 1 in every channel; Tim watches the whole tree (depth 2). Settled
 * bottom-up, the final updates proposed by either participant; the parents' balances follow each
 * settlement exactly and the ledger ends at 98/102.
 */
export async function subChannelsHappy(setup: ScenarioSetup): Promise<void> {
  await withScenario(setup, async (ctx, party) => {
    const susie = await party("Susie");
    const tim = await party("Tim");
    susie.client.handle(acceptAll(susie));
    tim.client.handle(acceptAll(tim));
    const signal = ctx.signal;
    const [ls, lt] = await openChannel(ctx, susie, tim, [100n, 100n]);
    await watchChannel(tim, lt);

    const [s1, t1] = await openSubChannel(ctx, susie, tim, ls, [10n, 10n]);
    const [t2, s2] = await openSubChannel(ctx, tim, susie, lt, [5n, 5n]);
    assert.deepEqual(balancesOf(lt), [85n, 85n]);
    assert.equal(lt.state.allocation.locked.length, 2);
    assert.ok(s1.isSubChannel && t1.parent === lt, "sub-channels know their parent");
    await watchChannel(tim, t1);
    await watchChannel(tim, t2);

    const subSubs: [Channel, Channel][] = [];
    for (const [i, amount] of [3n, 2n, 1n].entries()) {
      // Alternate the proposer: either participant may propose a sub-channel.
      const pair =
        i % 2 === 0
          ? await openSubChannel(ctx, susie, tim, s1, [amount, amount], ctx.paymentApp)
          : (await openSubChannel(ctx, tim, susie, t1, [amount, amount], ctx.paymentApp)).reverse();
      subSubs.push(pair as [Channel, Channel]);
      await watchChannel(tim, (pair as [Channel, Channel])[1]);
    }
    assert.deepEqual(balancesOf(t1), [4n, 4n]);

    // One transfer of 1 in every channel.
    await ls.update(pay(ls.idx, 1n), { signal });
    await s1.update(pay(s1.idx, 1n), { signal });
    await t2.update(pay(t2.idx, 1n), { signal });
    await subSubs[0]?.[0].update(pay(0, 1n), { signal });
    await subSubs[1]?.[1].update(pay(1, 1n), { signal });
    await subSubs[2]?.[0].update(pay(0, 1n), { signal });
    assert.deepEqual(balancesOf(lt), [84n, 86n]);
    assert.deepEqual(balancesOf(t1), [3n, 5n]);
    assert.deepEqual(balancesOf(s2), [6n, 4n]);

    // Settle sub-channel 2 (final update proposed by Tim, participant 1).
    await finalize(t2, signal);
    await Promise.all([s2.settle({ signal }), t2.settle({ signal })]);
    assert.deepEqual(balancesOf(ls), [90n, 90n]);
    assert.deepEqual(balancesOf(lt), [90n, 90n]);
    assert.equal(lt.state.allocation.locked.length, 1);

    // Sub-sub-channels: final updates by Susie, Tim, Susie; each settled into sub-channel 1.
    const expected = [
      [5n, 9n],
      [8n, 10n],
      [8n, 12n],
    ];
    for (const [i, [s, t]] of subSubs.entries()) {
      await finalize(i % 2 === 0 ? s : t, signal);
      await Promise.all([s.settle({ signal }), t.settle({ signal })]);
      assert.deepEqual(balancesOf(s1), expected[i]);
      assert.deepEqual(balancesOf(t1), expected[i]);
      assert.ok(s.isClosed && t.isClosed, "a settled sub-channel is closed");
    }
    assert.equal(t1.state.allocation.locked.length, 0);

    // Sub-channel 1 (final update by Tim), then the ledger channel.
    await finalize(t1, signal);
    await Promise.all([s1.settle({ signal }), t1.settle({ signal })]);
    assert.deepEqual(balancesOf(ls), [98n, 102n]);
    assert.deepEqual(balancesOf(lt), [98n, 102n]);
    assert.equal(lt.state.allocation.locked.length, 0);
    assert.equal(tim.client.channel(t1.id), undefined, "settled sub-channels leave the client");

    await finalize(ls, signal);
    await Promise.all([ls.settle({ signal }), lt.settle({ signal, secondary: true })]);
    assert.equal(await ctx.ledger.balanceOf(susie.participant.address), INITIAL_LEDGER_BALANCE - 2n);
    assert.equal(await ctx.ledger.balanceOf(tim.participant.address), INITIAL_LEDGER_BALANCE + 2n);
  });
}

/**
 * Sub-channel dispute Susie/Tim (spec §9.2 `TestSubChannelDispute`): ledger 100/100, sub-channel
 * 10/10, a transfer in each; Tim watches both. Susie registers the ledger channel with the stale
 * version 0 of the sub-channel; Tim's watcher refutes with the latest sub-state. Susie's
 * withdrawal with the stale sub-state fails; both settle the ledger channel (with the
 * sub-channel's outcome), ending at 98/102.
 */
export async function subChannelDispute(setup: ScenarioSetup): Promise<void> {
  await withScenario(setup, async (ctx, party) => {
    const susie = await party("Susie");
    const tim = await party("Tim");
    susie.client.handle(acceptAll(susie));
    tim.client.handle(acceptAll(tim));
    const signal = ctx.signal;
    const [ls, lt] = await openChannel(ctx, susie, tim, [100n, 100n]);
    await watchChannel(tim, lt);
    const [ss, st] = await openSubChannel(ctx, susie, tim, ls, [10n, 10n]);
    await watchChannel(tim, st);
    const stale = ss.current;
    await ls.update(pay(ls.idx, 1n), { signal });
    await ss.update(pay(ss.idx, 1n), { signal });
    assert.equal(st.state.version, 1n);

    const staleSub = { params: ss.params, state: stale.state as State, sigs: stale.sigs as Uint8Array[] };
    const rootReq = {
      params: ls.params,
      account: susie.participant,
      tx: ls.current,
      idx: ls.idx,
      secondary: false,
    };
    await susie.adjudicator.register(rootReq, [staleSub], { signal });

    const refuted = await tim.event(
      (e) => e.type === "registered" && channelIdEquals(e.id, st.id) && e.version === 1n,
    );
    const subVersions = tim.events
      .filter((e) => e.type === "registered" && channelIdEquals(e.id, st.id))
      .map((e) => e.version);
    assert.deepEqual(subVersions, [0n, 1n], "Tim sees the stale sub-state registered, then refuted");
    assert.equal(refuted.version, st.state.version);

    await ctx.ledger.advanceTime(setup.challengeDuration);
    await assert.rejects(
      susie.adjudicator.withdraw(rootReq, new Map([[ss.idHex, stale.state as State]]), { signal }),
      "concluding with the stale sub-state fails",
    );
    await lt.settle({ signal });
    await ls.settle({ signal });
    assert.ok(st.isClosed && ss.isClosed, "the sub-channel ends with its root");
    assert.equal(await ctx.ledger.balanceOf(susie.participant.address), INITIAL_LEDGER_BALANCE - 2n);
    assert.equal(await ctx.ledger.balanceOf(tim.participant.address), INITIAL_LEDGER_BALANCE + 2n);
  });
}

/**
 * A hostile sub-channel funding (spec §11.8): Mallory opens a sub-channel 3/3 with Carol by hand,
 * then sends parent updates that lock it with the wrong amounts, and with the wrong participant
 * debited. Carol rejects each with the reason (go-perun only checked the sub-allocation), her
 * acceptance ends without a funded channel, and the parent channel is unchanged and still works.
 */
export async function hostileSubChannelFunding(setup: ScenarioSetup): Promise<void> {
  await withScenario(setup, async (ctx, party) => {
    const mallory = await party("Mallory");
    const carol = await party("Carol");
    const signal = ctx.signal;
    const acceptCtrl = new AbortController();
    let carolAccept: Promise<unknown> | undefined;
    mallory.client.handle(acceptAll(mallory));
    carol.client.handle({
      ...acceptAll(carol),
      onProposal: async (p, r) => {
        if (p.type === MessageType.LedgerChannelProposal) {
          await r.accept({ participant: carol.participant.address });
          return;
        }
        carolAccept = r
          .accept({ participant: carol.participant.address, signal: acceptCtrl.signal })
          .catch((e: unknown) => e);
      },
    });
    const [m, c] = await openChannel(ctx, mallory, carol, [10n, 10n]);

    const proposal = subChannelProposal({
      parent: m.id,
      challengeDuration: setup.challengeDuration,
      initBals: { assets: [ctx.ledger.asset], balances: [[3n, 3n]], locked: [] },
    });
    const accAnswer = mallory.bus.next(
      (env) => env.message.type === MessageType.SubChannelProposalAcc,
      signal,
    );
    const carolSig = mallory.bus.next((env) => env.message.type === MessageType.ChannelUpdateAcc, signal);
    await mallory.bus.publish(
      { sender: mallory.wire.address, recipient: carol.wire.address, message: proposal },
      { signal },
    );
    const acc = (await accAnswer).message as SubChannelProposalAccMessage;
    const params = Params.create(
      {
        challengeDuration: proposal.challengeDuration,
        parts: m.params.parts,
        app: noApp,
        nonce: channelNonce(proposal.nonceShare, acc.nonceShare),
        ledgerChannel: false,
        virtualChannel: false,
      },
      setup.backend,
    );
    const v0 = makeInitialState(params, proposal.initBals);
    await mallory.bus.publish(
      {
        sender: mallory.wire.address,
        recipient: carol.wire.address,
        message: {
          type: MessageType.ChannelUpdateAcc,
          channelId: params.id,
          version: 0n,
          sig: await setup.backend.sign(mallory.participant, v0),
        },
      },
      { signal },
    );
    await carolSig;

    const from = m.state;
    const sendParentUpdate = async (balances: bigint[], locked: bigint) => {
      const state: State = {
        ...from,
        version: from.version + 1n,
        allocation: {
          assets: from.allocation.assets,
          balances: [balances],
          locked: [{ id: params.id, balances: [locked], indexMap: [] }],
        },
      };
      const answer = mallory.bus.next(
        (env) => env.message.type === MessageType.ChannelUpdateRej && env.message.version === state.version,
        signal,
      );
      await mallory.bus.publish(
        {
          sender: mallory.wire.address,
          recipient: carol.wire.address,
          message: {
            type: MessageType.ChannelUpdate,
            state,
            actorIdx: m.idx,
            sig: await setup.backend.sign(mallory.participant, state),
          },
        },
        { signal },
      );
      return ((await answer).message as ChannelUpdateRejMessage).reason;
    };
    // Wrong participant debited: all 6 from Carol.
    assert.match(await sendParentUpdate([10n, 4n], 6n), /participant 0 was debited 0 of asset 0, expected 3/);
    // Wrong amounts: 2 from each, 4 locked.
    assert.match(await sendParentUpdate([8n, 8n], 4n), /locks 4 of asset 0, expected 6/);
    assert.deepEqual(balancesOf(c), [10n, 10n]);
    assert.equal(c.state.allocation.locked.length, 0);

    acceptCtrl.abort(new Error("Mallory never funded"));
    assert.ok((await carolAccept) instanceof ChannelNotFundedError, "Carol's acceptance fails unfunded");
    assert.equal(carol.client.channel(params.id), undefined);

    await m.update((s) => ({ ...s, allocation: transfer(s.allocation, m.idx, c.idx, [1n]) }), { signal });
    await m.update((s) => ({ ...s, isFinal: true }), { signal });
    await Promise.all([m.settle({ signal }), c.settle({ signal, secondary: true })]);
    assert.equal(await ctx.ledger.balanceOf(mallory.participant.address), INITIAL_LEDGER_BALANCE - 1n);
    assert.equal(await ctx.ledger.balanceOf(carol.participant.address), INITIAL_LEDGER_BALANCE + 1n);
  });
}
