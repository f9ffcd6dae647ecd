import assert from "node:assert/strict";
import { type Channel, randomNonceShare } from "@perun-ts/client";
import {
  bytesToBigint,
  makeInitialState,
  noApp,
  Params,
  RequestTimedOutError,
  type SignedState,
  type State,
  withSubAlloc,
} from "@perun-ts/core";
import { type Envelope, type Message, MessageType } from "@perun-ts/wire";
import { openVirtualChannel } from "./child-restart.js";
import { balancesOf, INITIAL_LEDGER_BALANCE, pay, withScenario } from "./party.js";
import {
  memoryStores,
  openLedger,
  type RestartableParty,
  restartableParty,
  stopParty,
  watchFor,
} from "./restartable-party.js";
import type { ScenarioSetup } from "./setup.js";

/**
 * A hub that is unreachable during the virtual channel's life: A–I and B–I 10/10 (watched), virtual
 * A–B [5,5]; Ingrid's network goes down (her client, watcher and chain access keep running). Alice
 * and Bob keep updating directly ([2,8] after three payments) and Bob makes it final; the off-chain
 * settlement needs the hub, so Alice's times out (`RequestTimedOutError`) and nothing changes in her
 * parent. Alice and Bob then dispute: each registers and concludes its parent with the virtual
 * channel's final state; A gets 7, B 13 on chain. Ingrid's watcher saw the registrations, so her
 * copy knows the final state; back online she settles both of her ends and gets 20.
 */
export async function virtualChannelHubOffline(setup: ScenarioSetup): Promise<void> {
  await withScenario(setup, async (ctx) => {
    const signal = ctx.signal;
    const parties: RestartableParty[] = [];
    try {
      for (const name of ["Alice", "Bob", "Ingrid"])
        parties.push(await restartableParty(ctx, name, memoryStores));
      const [alice, bob, ingrid] = parties as [RestartableParty, RestartableParty, RestartableParty];
      const [aliceI, ingridA] = await openLedger(ctx, alice, ingrid, [10n, 10n]);
      const [bobI, ingridB] = await openLedger(ctx, bob, ingrid, [10n, 10n]);
      await watchFor(alice, aliceI);
      await watchFor(ingrid, ingridA);
      await watchFor(bob, bobI);
      await watchFor(ingrid, ingridB);
      const [va, vb] = await openVirtualChannel(ctx, alice, bob, aliceI, bobI);
      await watchFor(alice, va);
      await watchFor(bob, vb);
      const copy = ingrid.client.channel(va.id) as Channel;
      assert.ok(copy, "the hub holds its copy");

      ingrid.bus.setOnline(false);
      await va.update(pay(va.idx, 4n), { signal });
      await vb.update(pay(vb.idx, 2n), { signal });
      await va.update(pay(va.idx, 1n), { signal });
      assert.deepEqual(balancesOf(vb), [2n, 8n]);
      await vb.update((s) => ({ ...s, isFinal: true }), { signal });
      const final = va.state.version;
      const before = aliceI.state;

      // A plain controller and timer: an `AbortSignal.timeout` only referenced through
      // `AbortSignal.any` may be garbage-collected before it fires (Node), hanging the wait.
      const giveUp = new AbortController();
      const timer = setTimeout(() => giveUp.abort(new Error("gave up waiting for the hub")), 500);
      const err = await va.settle({ signal: giveUp.signal }).catch((e: unknown) => e);
      clearTimeout(timer);
      assert.ok(
        err instanceof RequestTimedOutError,
        `the unreachable hub cannot settle it off-chain: ${err}`,
      );
      assert.ok(ingrid.bus.dropped > 0, "the hub missed the settlement proposal");
      assert.deepEqual(aliceI.state.allocation, before.allocation, "nothing changed in Alice's parent");
      assert.equal(aliceI.state.version, before.version);

      await aliceI.register({ signal });
      await bobI.register({ signal });
      await ctx.ledger.advanceTime(setup.challengeDuration);
      await Promise.all([aliceI.settle({ signal }), bobI.settle({ signal })]);
      const bal = (p: RestartableParty) => ctx.ledger.balanceOf(p.participant.address);
      assert.equal(await bal(alice), INITIAL_LEDGER_BALANCE - 10n + 7n);
      assert.equal(await bal(bob), INITIAL_LEDGER_BALANCE - 10n + 13n);
      assert.ok(va.isClosed && vb.isClosed);

      await ingrid.watcher.idle();
      for (let i = 0; i < 1000 && copy.bestSignedState().state.version < final; i++) {
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(copy.bestSignedState().state.version, final, "the hub learned the final state on chain");
      ingrid.bus.setOnline(true);
      await Promise.all([ingridA.settle({ signal }), ingridB.settle({ signal })]);
      assert.equal(await bal(ingrid), INITIAL_LEDGER_BALANCE - 20n + 20n);
      assert.ok(copy.isClosed, "the hub's copy ends with its parents");
      for (const p of parties)
        assert.deepEqual(await p.store.activePeers(), [], `${p.name}'s store is empty`);
    } finally {
      for (const p of parties) await stopParty(p);
    }
  });
}

/**
 * Hostile funding proposals to the hub: Alice sends `VirtualChannelFundingProposal`s for a
 * virtual channel A–B [5,5] that debit the wrong amounts, lock the wrong total, carry an invalid
 * index map, or an initial state with a forged signature. Ingrid rejects each with the reason
 * (never silently) and locks nothing; afterwards an honest virtual channel opens normally.
 */
export async function hostileVirtualChannelFunding(setup: ScenarioSetup): Promise<void> {
  await withScenario(setup, async (ctx) => {
    const signal = ctx.signal;
    const parties: RestartableParty[] = [];
    try {
      for (const name of ["Alice", "Bob", "Ingrid"])
        parties.push(await restartableParty(ctx, name, memoryStores));
      const [alice, bob, ingrid] = parties as [RestartableParty, RestartableParty, RestartableParty];
      const [aliceI, ingridA] = await openLedger(ctx, alice, ingrid, [10n, 10n]);
      const [bobI, ingridB] = await openLedger(ctx, bob, ingrid, [10n, 10n]);
      const backend = setup.backend;
      const params = Params.create(
        {
          challengeDuration: setup.challengeDuration,
          parts: [alice.participant.address, bob.participant.address],
          app: noApp,
          nonce: bytesToBigint(randomNonceShare()),
          ledgerChannel: false,
          virtualChannel: true,
        },
        backend,
      );
      const signedInitial = async (balances: [bigint, bigint]): Promise<SignedState> => {
        const state = makeInitialState(params, {
          assets: [ctx.ledger.asset],
          balances: [balances],
          locked: [],
        });
        return {
          params,
          state,
          sigs: [await backend.sign(alice.participant, state), await backend.sign(bob.participant, state)],
        };
      };
      const initial = await signedInitial([5n, 5n]);
      const v0 = initial.state;
      const forged: SignedState = {
        ...initial,
        sigs: [initial.sigs[0] as Uint8Array, initial.sigs[0] as Uint8Array],
      };
      const uneven = await signedInitial([3n, 7n]);

      const attempt = async (
        label: string,
        lockTotal: bigint,
        debits: [bigint, bigint],
        indexMap: number[],
        init: SignedState,
        reason: RegExp,
      ) => {
        const from = aliceI.state;
        const state: State = {
          ...from,
          version: from.version + 1n,
          allocation: withSubAlloc(from.allocation, { id: init.state.id, balances: [lockTotal], indexMap }, [
            debits,
          ]),
        };
        const message: Message = {
          type: MessageType.VirtualChannelFundingProposal,
          state,
          actorIdx: 0,
          sig: await backend.sign(alice.participant, state),
          initial: init,
          indexMap,
        };
        // A plain controller and timer (see above) bound the wait for the hub's rejection.
        const giveUp = new AbortController();
        const timer = setTimeout(() => giveUp.abort(new Error("no answer from the hub")), 5_000);
        let rej: Message;
        try {
          const answer = alice.bus.next(
            (env: Envelope) =>
              env.message.type === MessageType.ChannelUpdateRej && env.message.version === state.version,
            giveUp.signal,
          );
          answer.catch(() => {}); // awaited below; a failed publish must not leave it unhandled
          await alice.bus.publish(
            { sender: alice.wire.address, recipient: ingrid.wire.address, message },
            { signal },
          );
          rej = (await answer).message;
        } finally {
          clearTimeout(timer);
        }
        assert.equal(rej.type, MessageType.ChannelUpdateRej);
        assert.match(rej.reason, reason, `${label}: ${rej.reason}`);
        for (const ch of [ingridA, aliceI, ingridB, bobI]) {
          assert.deepEqual(balancesOf(ch), [10n, 10n], `${label}: nothing moved`);
          assert.equal(ch.state.allocation.locked.length, 0, `${label}: nothing locked`);
          assert.equal(ch.state.version, from.version);
        }
      };
      await attempt(
        "wrong debits",
        10n,
        [4n, 6n],
        [0, 1],
        initial,
        /participant 0 was debited 4 of asset 0, expected 5/,
      );
      await attempt("wrong total", 9n, [5n, 4n], [0, 1], initial, /locks 9 of asset 0, expected 10/);
      // A map swapping the participants: Alice claims to stand for Bob's side of [3,7]
      // (an out-of-range map cannot even be encoded: the wire codec refuses it).
      await attempt(
        "swapped index map",
        10n,
        [3n, 7n],
        [1, 0],
        uneven,
        /participant 0 was debited 3 of asset 0, expected 7/,
      );
      await attempt(
        "forged initial signature",
        10n,
        [5n, 5n],
        [0, 1],
        forged,
        /signature 1 on the initial state is invalid/,
      );
      assert.equal(ingrid.client.channel(v0.id), undefined, "the hub made no copy");

      const [va] = await openVirtualChannel(ctx, alice, bob, aliceI, bobI);
      for (const ch of [aliceI, ingridA, bobI, ingridB]) assert.deepEqual(balancesOf(ch), [5n, 5n]);
      assert.ok(ingrid.client.channel(va.id), "an honest virtual channel still opens");
    } finally {
      for (const p of parties) await stopParty(p);
    }
  });
}
