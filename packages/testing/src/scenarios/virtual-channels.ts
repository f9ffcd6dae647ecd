import assert from "node:assert/strict";
import {
  type Channel,
  ChannelNotFundedError,
  type Handlers,
  type VirtualChannelRequest,
  virtualChannelProposal,
} from "@perun-ts/client";
import { channelIdEquals, PeerRejectedError } from "@perun-ts/core";
import { MessageType } from "@perun-ts/wire";
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

interface Triangle {
  readonly alice: Party;
  readonly bob: Party;
  readonly ingrid: Party;
  /** A–I at Alice (index 0) and at Ingrid. */
  readonly aliceI: Channel;
  readonly ingridA: Channel;
  /** B–I at Bob (index 0) and at Ingrid. */
  readonly bobI: Channel;
  readonly ingridB: Channel;
}

/** Alice and Bob each open a 10/10 ledger channel with the hub Ingrid. */
async function triangle(
  ctx: ScenarioContext,
  party: (name: string) => Promise<Party>,
  handlers: { readonly ingrid?: (p: Party) => Handlers; readonly bob?: (p: Party) => Handlers } = {},
): Promise<Triangle> {
  const alice = await party("Alice");
  const bob = await party("Bob");
  const ingrid = await party("Ingrid");
  alice.client.handle(acceptAll(alice));
  bob.client.handle(handlers.bob ? handlers.bob(bob) : acceptAll(bob));
  ingrid.client.handle(handlers.ingrid ? handlers.ingrid(ingrid) : acceptAll(ingrid));
  const [aliceI, ingridA] = await openChannel(ctx, alice, ingrid, [10n, 10n]);
  const [bobI, ingridB] = await openChannel(ctx, bob, ingrid, [10n, 10n]);
  return { alice, bob, ingrid, aliceI, ingridA, bobI, ingridB };
}

/** Alice proposes a virtual channel A–B [5,5] through Ingrid; returns Alice's and Bob's ends. */
async function openVirtual(ctx: ScenarioContext, t: Triangle): Promise<[Channel, Channel]> {
  const accepted = new Promise<Channel>((resolve, reject) => {
    const off = t.bob.client.onNewChannel((ch) => {
      off();
      resolve(ch);
    });
    ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true });
  });
  const ch = await t.alice.client.proposeChannel(
    virtualChannelProposal({
      challengeDuration: ctx.setup.challengeDuration,
      proposer: t.alice.participant.address,
      initBals: { assets: [ctx.ledger.asset], balances: [[5n, 5n]], locked: [] },
      peers: [t.alice.wire.address, t.bob.wire.address],
      parents: [t.aliceI.id, t.bobI.id],
      indexMaps: [
        [0, 1],
        [1, 0],
      ],
    }),
    { signal: ctx.signal },
  );
  return [ch, await accepted];
}

/**
 * Virtual channel, optimistic (spec §9.2 `TestVirtualChannelsOptimistic`): A–I and B–I 10/10;
 * Alice opens A–B [5,5] through Ingrid (index maps [0,1] and [1,0]); Alice pays 3 ([2,8]); Bob
 * proposes the final state; both settle off-chain. The parents end at A–I [7,13] and B–I [13,7]
 * at every end, Ingrid's copy is gone, and settling the ledger channels pays A 7, B 13, I 20.
 */
export async function virtualChannelOptimistic(setup: ScenarioSetup): Promise<void> {
  await withScenario(setup, async (ctx, party) => {
    const t = await triangle(ctx, party);
    const signal = ctx.signal;
    const hubChannels: Channel[] = [];
    t.ingrid.client.onNewChannel((ch) => hubChannels.push(ch));
    const [va, vb] = await openVirtual(ctx, t);
    assert.ok(va.isVirtualChannel && vb.isVirtualChannel);
    assert.equal(va.idHex, vb.idHex);
    for (const ch of [t.aliceI, t.ingridA, t.bobI, t.ingridB]) {
      assert.deepEqual(balancesOf(ch), [5n, 5n]);
      assert.equal(ch.state.allocation.locked.length, 1);
    }
    const copy = hubChannels.find((ch) => channelIdEquals(ch.id, va.id));
    assert.ok(copy, "the hub's copy of the virtual channel is announced by onNewChannel");
    assert.ok(copy.parent === t.ingridA || copy.parent === t.ingridB);

    await va.update(pay(va.idx, 3n), { signal });
    assert.deepEqual(balancesOf(vb), [2n, 8n]);
    await vb.update((s) => ({ ...s, isFinal: true }), { signal });
    await Promise.all([va.settle({ signal }), vb.settle({ signal })]);

    assert.deepEqual(balancesOf(t.aliceI), [7n, 13n]);
    assert.deepEqual(balancesOf(t.ingridA), [7n, 13n]);
    assert.deepEqual(balancesOf(t.bobI), [13n, 7n]);
    assert.deepEqual(balancesOf(t.ingridB), [13n, 7n]);
    for (const ch of [t.aliceI, t.ingridA, t.bobI, t.ingridB])
      assert.equal(ch.state.allocation.locked.length, 0);
    assert.ok(va.isClosed && vb.isClosed && copy.isClosed, "every copy of the virtual channel is closed");
    assert.equal(t.ingrid.client.channel(va.id), undefined);

    await t.aliceI.update((s) => ({ ...s, isFinal: true }), { signal });
    await t.bobI.update((s) => ({ ...s, isFinal: true }), { signal });
    await Promise.all([
      t.aliceI.settle({ signal }),
      t.ingridA.settle({ signal, secondary: true }),
      t.bobI.settle({ signal }),
      t.ingridB.settle({ signal, secondary: true }),
    ]);
    const bal = (p: Party) => ctx.ledger.balanceOf(p.participant.address);
    assert.equal(await bal(t.alice), INITIAL_LEDGER_BALANCE - 10n + 7n);
    assert.equal(await bal(t.bob), INITIAL_LEDGER_BALANCE - 10n + 13n);
    assert.equal(await bal(t.ingrid), INITIAL_LEDGER_BALANCE - 20n + 20n);
  });
}

/** A reproducible shuffle (printed seed) of `items`. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let x = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/**
 * Virtual channel dispute (spec §9.2 `TestVirtualChannelsDispute`): the same setup, the virtual
 * channel updated to [2,8] (not final); the four ledger channel ends are registered in a random
 * order (seeded, printed), then all are settled in a random order. Both parents are concluded
 * with the virtual channel's latest state and the index maps route its outcome: A 7, B 13, I 20.
 */
export async function virtualChannelDispute(setup: ScenarioSetup, seed = Date.now()): Promise<void> {
  await withScenario(setup, async (ctx, party) => {
    const t = await triangle(ctx, party);
    const signal = ctx.signal;
    for (const [p, ch] of [
      [t.alice, t.aliceI],
      [t.bob, t.bobI],
      [t.ingrid, t.ingridA],
      [t.ingrid, t.ingridB],
    ] as const) {
      await watchChannel(p, ch);
    }
    const [va, vb] = await openVirtual(ctx, t);
    await watchChannel(t.alice, va);
    await watchChannel(t.bob, vb);
    await va.update(pay(va.idx, 3n), { signal });
    assert.deepEqual(balancesOf(vb), [2n, 8n]);
    const latest = va.state.version;

    console.info(`virtual channel dispute: seed ${seed}`);
    const ends = [t.aliceI, t.ingridA, t.bobI, t.ingridB];
    for (const ch of shuffled(ends, seed)) await ch.register({ signal });
    // The hub learns the virtual channel's latest state from the chain (A or B registered it).
    const copy = [...t.ingridA.children, ...t.ingridB.children].find((c) => channelIdEquals(c.id, va.id));
    assert.ok(copy, "the hub's copy hangs off its parents");
    await t.ingrid.watcher.idle();
    for (let i = 0; i < 1000 && copy.bestSignedState().state.version < latest; i++) {
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(copy.bestSignedState().state.version, latest, "the hub imported the registered state");

    await ctx.ledger.advanceTime(setup.challengeDuration);
    await Promise.all(shuffled(ends, seed + 1).map((ch) => ch.settle({ signal })));
    const bal = (p: Party) => ctx.ledger.balanceOf(p.participant.address);
    assert.equal(await bal(t.alice), INITIAL_LEDGER_BALANCE - 10n + 7n);
    assert.equal(await bal(t.bob), INITIAL_LEDGER_BALANCE - 10n + 13n);
    assert.equal(await bal(t.ingrid), INITIAL_LEDGER_BALANCE - 20n + 20n);
    assert.ok(va.isClosed && vb.isClosed && copy.isClosed, "the virtual channel ends with its parents");
  });
}

/**
 * A hub that rejects by policy: Ingrid's `onVirtualChannel` sees the matched request (peers,
 * parents, initial state) and rejects it with a reason; both Alice's and Bob's fundings fail with
 * that reason, nothing is locked in either parent, and the parents still work.
 */
export async function virtualChannelHubRejects(setup: ScenarioSetup): Promise<void> {
  await withScenario(setup, async (ctx, party) => {
    const requests: VirtualChannelRequest[] = [];
    let bobResult: Promise<unknown> | undefined;
    const t = await triangle(ctx, party, {
      ingrid: (ingrid) => ({
        ...acceptAll(ingrid),
        onVirtualChannel: (req) => {
          requests.push(req);
          return { accept: false, reason: "fee too low" };
        },
      }),
      bob: (bob) => ({
        ...acceptAll(bob),
        onProposal: async (p, r) => {
          if (p.type === MessageType.LedgerChannelProposal)
            throw new Error("Bob proposes his ledger channels");
          bobResult = r.accept({ participant: bob.participant.address }).catch((e: unknown) => e);
          await bobResult;
        },
      }),
    });
    const signal = ctx.signal;
    const failure = await t.alice.client
      .proposeChannel(
        virtualChannelProposal({
          challengeDuration: setup.challengeDuration,
          proposer: t.alice.participant.address,
          initBals: { assets: [ctx.ledger.asset], balances: [[5n, 5n]], locked: [] },
          peers: [t.alice.wire.address, t.bob.wire.address],
          parents: [t.aliceI.id, t.bobI.id],
          indexMaps: [
            [0, 1],
            [1, 0],
          ],
        }),
        { signal },
      )
      .catch((e: unknown) => e);
    assert.ok(failure instanceof ChannelNotFundedError, "Alice's virtual channel is not funded");
    assert.ok(failure.cause instanceof PeerRejectedError);
    assert.match(failure.message, /fee too low/);
    assert.equal(requests.length, 1, "the policy is asked once per matched pair");
    const req = requests[0] as VirtualChannelRequest;
    assert.ok(req.peers[0]?.equals(t.alice.wire.address) && req.peers[1]?.equals(t.bob.wire.address));
    assert.ok(req.parents[0] === t.ingridA && req.parents[1] === t.ingridB);
    const bobFailure = await bobResult;
    assert.ok(bobFailure instanceof ChannelNotFundedError, "Bob's virtual channel is not funded either");
    assert.match(bobFailure.message, /fee too low/);
    for (const ch of [t.aliceI, t.ingridA, t.bobI, t.ingridB]) {
      assert.deepEqual(balancesOf(ch), [10n, 10n]);
      assert.equal(ch.state.allocation.locked.length, 0);
    }
    await t.aliceI.update(pay(t.aliceI.idx, 1n), { signal });
    assert.deepEqual(balancesOf(t.ingridA), [9n, 11n]);
  });
}
