import assert from "node:assert/strict";
import { type Channel, subChannelProposal, virtualChannelProposal } from "@perun-ts/client";
import { findSubAlloc, Phase, type Signature, type SignedState, type State } from "@perun-ts/core";
import { balancesOf, INITIAL_LEDGER_BALANCE, pay, type ScenarioContext, withScenario } from "./party.js";
import {
  memoryStores,
  openLedger,
  type RestartableParty,
  restartableParty,
  restartParty,
  type StoreFactory,
  stopParty,
  watchFor,
} from "./restartable-party.js";
import type { ScenarioSetup } from "./setup.js";

/** Which party of a virtual channel restarts. */
export type VirtualRestartRole = "alice" | "bob" | "ingrid";

function signedOf(ch: Channel): SignedState {
  return { params: ch.params, state: ch.current.state as State, sigs: ch.current.sigs as Signature[] };
}

/** The open channel `id` of `p` (after a restart, the restored object). */
function channelOf(p: RestartableParty, ch: Channel): Channel {
  const found = p.client.channel(ch.id);
  assert.ok(found, `${p.name} holds channel ${ch.idHex}`);
  return found;
}

/** Alice proposes the virtual channel A–B [5,5] through the hub; returns Alice's and Bob's ends. */
export async function openVirtualChannel(
  ctx: ScenarioContext,
  alice: RestartableParty,
  bob: RestartableParty,
  aliceI: Channel,
  bobI: Channel,
): Promise<[Channel, Channel]> {
  const accepted = new Promise<Channel>((resolve) => {
    const off = bob.client.onNewChannel((ch) => {
      if (!ch.isVirtualChannel) return;
      off();
      resolve(ch);
    });
  });
  const ch = await alice.client.proposeChannel(
    virtualChannelProposal({
      challengeDuration: ctx.setup.challengeDuration,
      proposer: alice.participant.address,
      initBals: { assets: [ctx.ledger.asset], balances: [[5n, 5n]], locked: [] },
      peers: [alice.wire.address, bob.wire.address],
      parents: [aliceI.id, bobI.id],
      indexMaps: [
        [0, 1],
        [1, 0],
      ],
    }),
    { signal: ctx.signal },
  );
  return [ch, await accepted];
}

/** After a restore: the watcher of `p` watches `ch` under its parent (a second start is refused). */
async function assertWatched(p: RestartableParty, ch: Channel): Promise<void> {
  const parent = ch.parent;
  assert.ok(parent, "a child channel has its parent after the restore");
  await assert.rejects(
    p.watcher.startWatchingSubChannel(parent.id, signedOf(ch)),
    `${p.name}'s watcher watches the restored channel already`,
  );
}

/**
 * A restart in the middle of a virtual channel's life (issue 8, "done when"): A–I and B–I 10/10
 * (all ends watched), virtual A–B [5,5] through Ingrid, Alice pays 2; then `who` (Alice, Bob or
 * the hub Ingrid) closes its client and restores from its store (`newStore`; LevelDB in
 * @perun-ts/persistence-level). The restored party holds the virtual channel (or the hub's copy)
 * linked to its locked parent funds and watched under the parent; Alice pays 1 more ([2,8]), Bob
 * proposes the final state, both settle off-chain through the (possibly restored) hub: parents
 * A–I [7,13], B–I [13,7]; after settling the ledger channels A 7, B 13, I 20 and every store is
 * empty.
 */
export async function virtualChannelRestart(
  setup: ScenarioSetup,
  who: VirtualRestartRole,
  newStore: StoreFactory = memoryStores,
): Promise<void> {
  await withScenario(setup, async (ctx) => {
    const signal = ctx.signal;
    const parties: RestartableParty[] = [];
    try {
      const alice = await restartableParty(ctx, "Alice", newStore);
      parties.push(alice);
      const bob = await restartableParty(ctx, "Bob", newStore);
      parties.push(bob);
      const ingrid = await restartableParty(ctx, "Ingrid", newStore);
      parties.push(ingrid);
      const [aliceI0, ingridA0] = await openLedger(ctx, alice, ingrid, [10n, 10n]);
      const [bobI0, ingridB0] = await openLedger(ctx, bob, ingrid, [10n, 10n]);
      await watchFor(alice, aliceI0);
      await watchFor(ingrid, ingridA0);
      await watchFor(bob, bobI0);
      await watchFor(ingrid, ingridB0);
      const [va0, vb0] = await openVirtualChannel(ctx, alice, bob, aliceI0, bobI0);
      await watchFor(alice, va0);
      await watchFor(bob, vb0);
      await va0.update(pay(va0.idx, 2n), { signal });
      assert.deepEqual(balancesOf(vb0), [3n, 7n]);
      const version = va0.state.version;

      const target = { alice, bob, ingrid }[who];
      const report = await restartParty(ctx, target);
      assert.deepEqual(report.failed, [], "every persisted channel is restored");
      assert.equal(report.channels.length, who === "ingrid" ? 3 : 2, "ledger channels and the virtual one");
      for (const r of report.channels)
        assert.equal(r.error, undefined, `restored ${r.channel.idHex} resumes`);

      const aliceI = channelOf(alice, aliceI0);
      const bobI = channelOf(bob, bobI0);
      const ingridA = channelOf(ingrid, ingridA0);
      const ingridB = channelOf(ingrid, ingridB0);
      const va = channelOf(alice, va0);
      const vb = channelOf(bob, vb0);
      const copy = channelOf(ingrid, va0);
      const restored = { alice: va, bob: vb, ingrid: copy }[who];
      assert.ok(restored.isVirtualChannel, "restored as a virtual channel");
      assert.equal(restored.phase, Phase.Acting);
      assert.equal(restored.state.version, who === "ingrid" ? 0n : version);
      const parents = who === "ingrid" ? [ingridA, ingridB] : [restored.parent as Channel];
      for (const p of parents) {
        assert.ok(findSubAlloc(p.state.allocation, restored.id), "the parent locks it");
        assert.ok(
          p.children.includes(restored),
          "the restored channel is linked to each parent holding its funds",
        );
      }
      await assertWatched(target, restored);

      await va.update(pay(va.idx, 1n), { signal });
      assert.deepEqual(balancesOf(vb), [2n, 8n]);
      await vb.update((s) => ({ ...s, isFinal: true }), { signal });
      await Promise.all([va.settle({ signal }), vb.settle({ signal })]);
      assert.deepEqual(balancesOf(aliceI), [7n, 13n]);
      assert.deepEqual(balancesOf(ingridA), [7n, 13n]);
      assert.deepEqual(balancesOf(bobI), [13n, 7n]);
      assert.deepEqual(balancesOf(ingridB), [13n, 7n]);
      for (const ch of [aliceI, ingridA, bobI, ingridB]) assert.equal(ch.state.allocation.locked.length, 0);
      // The hub closes its copy in the background once both parent updates were accepted.
      for (let i = 0; i < 400 && !copy.isClosed; i++) await new Promise((r) => setTimeout(r, 5));
      assert.ok(va.isClosed && vb.isClosed && copy.isClosed, "every copy of the virtual channel is closed");

      await aliceI.update((s) => ({ ...s, isFinal: true }), { signal });
      await bobI.update((s) => ({ ...s, isFinal: true }), { signal });
      await Promise.all([
        aliceI.settle({ signal }),
        ingridA.settle({ signal, secondary: true }),
        bobI.settle({ signal }),
        ingridB.settle({ signal, secondary: true }),
      ]);
      const bal = (p: RestartableParty) => ctx.ledger.balanceOf(p.participant.address);
      assert.equal(await bal(alice), INITIAL_LEDGER_BALANCE - 10n + 7n);
      assert.equal(await bal(bob), INITIAL_LEDGER_BALANCE - 10n + 13n);
      assert.equal(await bal(ingrid), INITIAL_LEDGER_BALANCE - 20n + 20n);
      for (const p of parties)
        assert.deepEqual(await p.store.activePeers(), [], `${p.name}'s store is empty`);
    } finally {
      for (const p of parties) await stopParty(p);
    }
  });
}

/** `proposer` opens a sub-channel of its channel `parent` with `balances`; both ends. */
async function openSub(
  ctx: ScenarioContext,
  proposer: RestartableParty,
  responder: RestartableParty,
  parent: Channel,
  balances: readonly [bigint, bigint],
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
    }),
    { signal: ctx.signal },
  );
  return [ch, await accepted];
}

/**
 * A sub-channel restart: Susie/Tim ledger 100/100 (watched); sub-channel 1 (10/10, Susie pays 1,
 * Tim makes it final), sub-channel 2 (5/5) with a sub-sub-channel (2/2); Tim pays 1 in sub 2,
 * Susie 1 in the sub-sub. Then `who` restarts and restores (three depths, parents first). With
 * the restarted party refusing every plain update, the other settles the final sub-channel 1 into
 * the ledger: the restored settlement interceptor accepts it. Then the sub-sub (Tim pays 2, final)
 * and sub 2 (Susie pays 3, final) are settled bottom-up; the ledger ends 98/102 and on chain.
 */
export async function subChannelRestart(
  setup: ScenarioSetup,
  who: "susie" | "tim",
  newStore: StoreFactory = memoryStores,
): Promise<void> {
  await withScenario(setup, async (ctx) => {
    const signal = ctx.signal;
    const parties: RestartableParty[] = [];
    try {
      const susie = await restartableParty(ctx, "Susie", newStore);
      parties.push(susie);
      const tim = await restartableParty(ctx, "Tim", newStore);
      parties.push(tim);
      const [ls0, lt0] = await openLedger(ctx, susie, tim, [100n, 100n]);
      await watchFor(susie, ls0);
      await watchFor(tim, lt0);
      const [s1, t1] = await openSub(ctx, susie, tim, ls0, [10n, 10n]);
      const [t2, s2] = await openSub(ctx, tim, susie, lt0, [5n, 5n]);
      const [s3, t3] = await openSub(ctx, susie, tim, s2, [2n, 2n]);
      for (const [p, ch] of [
        [susie, s1],
        [tim, t1],
        [susie, s2],
        [tim, t2],
        [susie, s3],
        [tim, t3],
      ] as const) {
        await watchFor(p, ch);
      }
      await s1.update(pay(0, 1n), { signal });
      await t1.update((s) => ({ ...s, isFinal: true }), { signal });
      await t2.update(pay(1, 1n), { signal });
      await s3.update(pay(0, 1n), { signal });
      assert.deepEqual(balancesOf(lt0), [85n, 85n]);
      assert.deepEqual(balancesOf(t2), [4n, 2n]);

      const [target, other] = who === "tim" ? [tim, susie] : [susie, tim];
      const report = await restartParty(ctx, target);
      assert.deepEqual(report.failed, []);
      assert.equal(report.channels.length, 4, "the ledger channel, two sub-channels, one sub-sub-channel");
      for (const r of report.channels)
        assert.equal(r.error, undefined, `restored ${r.channel.idHex} resumes`);
      const ch = (p: RestartableParty, c: Channel) => channelOf(p, c);
      const [ls, lt, sub1s, sub1t, sub2s, sub2t, sub3s, sub3t] = [
        ch(susie, ls0),
        ch(tim, lt0),
        ch(susie, s1),
        ch(tim, t1),
        ch(susie, s2),
        ch(tim, t2),
        ch(susie, s3),
        ch(tim, t3),
      ] as const;
      const mine =
        who === "tim"
          ? { l: lt, s1: sub1t, s2: sub2t, s3: sub3t }
          : { l: ls, s1: sub1s, s2: sub2s, s3: sub3s };
      assert.ok(mine.s1.isSubChannel && mine.s1.parent === mine.l);
      assert.ok(mine.s3.parent === mine.s2 && mine.s2.parent === mine.l, "re-linked at every depth");
      assert.equal(mine.s1.phase, Phase.Final);
      assert.deepEqual(balancesOf(mine.s3), [1n, 3n]);
      for (const c of [mine.s1, mine.s2, mine.s3]) await assertWatched(target, c);

      // Only the restored settlement interceptor can accept the release of sub-channel 1.
      target.acceptUpdates = false;
      const otherS1 = other === susie ? sub1s : sub1t;
      await otherS1.settle({ signal });
      await mine.s1.settle({ signal });
      assert.deepEqual(balancesOf(ls), [94n, 96n]);
      assert.deepEqual(balancesOf(lt), [94n, 96n]);
      target.acceptUpdates = true;

      await sub3t.update(pay(1, 2n), { signal });
      await sub3t.update((s) => ({ ...s, isFinal: true }), { signal });
      await Promise.all([sub3s.settle({ signal }), sub3t.settle({ signal })]);
      assert.deepEqual(balancesOf(sub2s), [7n, 3n]);
      await sub2s.update(pay(0, 3n), { signal });
      await sub2s.update((s) => ({ ...s, isFinal: true }), { signal });
      await Promise.all([sub2s.settle({ signal }), sub2t.settle({ signal })]);
      assert.deepEqual(balancesOf(ls), [98n, 102n]);
      assert.deepEqual(balancesOf(lt), [98n, 102n]);
      assert.equal(ls.state.allocation.locked.length, 0);

      await ls.update((s) => ({ ...s, isFinal: true }), { signal });
      await Promise.all([ls.settle({ signal }), lt.settle({ signal, secondary: true })]);
      assert.equal(await ctx.ledger.balanceOf(susie.participant.address), INITIAL_LEDGER_BALANCE - 2n);
      assert.equal(await ctx.ledger.balanceOf(tim.participant.address), INITIAL_LEDGER_BALANCE + 2n);
      for (const p of parties)
        assert.deepEqual(await p.store.activePeers(), [], `${p.name}'s store is empty`);
    } finally {
      for (const p of parties) await stopParty(p);
    }
  });
}
