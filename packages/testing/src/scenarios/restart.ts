import assert from "node:assert/strict";
import { type Channel, Client, ledgerChannelProposal } from "@perun-ts/client";
import {
  type Account,
  MemoryPersistRestorer,
  type PersistRestorer,
  Phase,
  type Wallet,
} from "@perun-ts/core";
import { LocalWatcher } from "@perun-ts/watcher";
import type { Bus } from "@perun-ts/wire";
import { INITIAL_LEDGER_BALANCE, pay, type ScenarioContext, withScenario } from "./party.js";
import type { ScenarioSetup } from "./setup.js";

/** A party whose client can be closed and rebuilt from its persisted channels. */
interface RestartableParty {
  readonly wire: Account;
  readonly participant: Account;
  readonly wallet: Wallet;
  readonly bus: Bus;
  readonly store: PersistRestorer;
  client: Client;
  watcher: LocalWatcher;
}

async function restartableParty(ctx: ScenarioContext, store: PersistRestorer): Promise<RestartableParty> {
  const { wallet, newAccount } = ctx.setup.newWallet();
  const wire = await newAccount();
  const participant = await newAccount();
  await ctx.ledger.mint(participant.address, INITIAL_LEDGER_BALANCE);
  const bus = await ctx.network.busFor(wire);
  const p = { wire, participant, wallet, bus, store } as RestartableParty;
  start(ctx, p);
  return p;
}

/** Builds a fresh client (and watcher) for `p` on the same identity, wallet, bus and store. */
function start(ctx: ScenarioContext, p: RestartableParty): void {
  const adjudicator = ctx.ledger.adjudicator();
  p.watcher = new LocalWatcher({ adjudicator, account: p.participant });
  p.client = new Client({
    identity: p.wire,
    bus: p.bus,
    backend: ctx.setup.backend,
    wallet: p.wallet,
    funder: ctx.ledger.funder(),
    adjudicator,
    watcher: p.watcher,
    apps: ctx.apps,
    persister: p.store,
  });
  p.client.handle({
    onProposal: async (_prop, r) => {
      await r.accept({ participant: p.participant.address, signal: ctx.signal });
    },
    onUpdate: async (_ch, _cur, _u, r) => {
      await r.accept();
    },
  });
}

async function stop(p: RestartableParty): Promise<void> {
  await p.client.close();
  await p.watcher.close();
}

/**
 * Petra/Robert (spec §9.2 `TestPersistencePetraRobert`), extended to both restarts: open a
 * channel with persistence, transfer 1, both clients close; the store lists the other party and
 * restores a channel equal to the last state; new clients with the same identity, bus and wallet
 * `restore` (which syncs them with each other); Robert proposes the final state, Petra accepts,
 * both settle. `newStore` supplies the persister (memory by default; LevelDB in its package); it
 * gets the scenario context, whose `setup.backend` and `apps` decode what a store restores.
 */
export async function petraRobertRestart(
  setup: ScenarioSetup,
  withApp: boolean,
  newStore: (ctx: ScenarioContext) => PersistRestorer | Promise<PersistRestorer> = () =>
    new MemoryPersistRestorer(),
): Promise<void> {
  await withScenario(setup, async (ctx) => {
    const petra = await restartableParty(ctx, await newStore(ctx));
    const robert = await restartableParty(ctx, await newStore(ctx));
    try {
      const accepted = new Promise<Channel>((resolve) => {
        const off = robert.client.onNewChannel((ch) => {
          off();
          resolve(ch);
        });
      });
      const p0 = await petra.client.proposeChannel(
        ledgerChannelProposal({
          challengeDuration: ctx.setup.challengeDuration,
          participant: petra.participant.address,
          initBals: { assets: [ctx.ledger.asset], balances: [[100n, 100n]], locked: [] },
          peers: [petra.wire.address, robert.wire.address],
          ...(withApp ? { app: ctx.paymentApp } : {}),
        }),
        { signal: ctx.signal },
      );
      const r0 = await accepted;
      await p0.update(pay(0, 1n), { signal: ctx.signal });
      assert.equal(r0.state.version, 1n);

      await stop(petra);
      await stop(robert);
      const peers = await petra.store.activePeers();
      assert.ok(
        peers.some((a) => a.equals(robert.wire.address)),
        "Petra's store lists Robert",
      );
      const stored = await petra.store.restoreChannel(p0.id);
      assert.equal(stored.current.state?.version, 1n);
      assert.deepEqual(stored.current.state?.allocation.balances, [[99n, 101n]]);

      start(ctx, petra);
      start(ctx, robert);
      const seen: Channel[] = [];
      robert.client.onNewChannel((ch) => seen.push(ch));
      const [rp, rr] = await Promise.all([
        petra.client.restore({ signal: ctx.signal }),
        robert.client.restore({ signal: ctx.signal }),
      ]);
      for (const report of [rp, rr]) {
        assert.deepEqual(report.failed, []);
        assert.equal(report.channels.length, 1);
        assert.equal(report.channels[0]?.error, undefined);
        assert.equal(report.channels[0]?.sync, "in-sync");
      }
      const p = rp.channels[0]?.channel as Channel;
      const r = rr.channels[0]?.channel as Channel;
      assert.deepEqual(seen, [r], "onNewChannel delivers the restored channel");
      assert.equal(p.phase, Phase.Acting);
      assert.deepEqual(p.state.allocation.balances, r.state.allocation.balances);
      assert.equal(p.hasApp, withApp);

      await r.update(pay(1, 2n), { signal: ctx.signal });
      await r.update((s) => ({ ...s, isFinal: true }), { signal: ctx.signal });
      assert.equal(p.phase, Phase.Final);
      await Promise.all([
        p.settle({ signal: ctx.signal }),
        r.settle({ signal: ctx.signal, secondary: true }),
      ]);
      assert.equal(await ctx.ledger.balanceOf(petra.participant.address), INITIAL_LEDGER_BALANCE + 1n);
      assert.equal(await ctx.ledger.balanceOf(robert.participant.address), INITIAL_LEDGER_BALANCE - 1n);
      assert.deepEqual(await petra.store.activePeers(), [], "a settled channel leaves the store");
    } finally {
      await stop(petra);
      await stop(robert);
    }
  });
}
