import {
  type Channel,
  Client,
  ledgerChannelProposal,
  type RestoreReport,
  type VirtualChannelPolicy,
} from "@perun-ts/client";
import {
  type Account,
  type AdjudicatorEvent,
  MemoryPersistRestorer,
  type PersistRestorer,
  type Wallet,
} from "@perun-ts/core";
import { LocalWatcher } from "@perun-ts/watcher";
import { GateBus } from "./gate-bus.js";
import { INITIAL_LEDGER_BALANCE, type ScenarioContext } from "./party.js";

/**
 * Makes the persister of each party (memory by default; LevelDB in @perun-ts/persistence-level).
 * The factory owns the stores: it closes and deletes them when its test ends.
 */
export interface StoreFactory {
  open(name: string, ctx: ScenarioContext): PersistRestorer | Promise<PersistRestorer>;
  /**
   * Closes `old` and opens the same data again, as a restarted process would; without it a
   * restarted client keeps using `old`.
   */
  reopen?(old: PersistRestorer, name: string, ctx: ScenarioContext): Promise<PersistRestorer>;
}

/** The default store factory: a fresh in-memory persister per party, kept across restarts. */
export const memoryStores: StoreFactory = { open: () => new MemoryPersistRestorer() };

/**
 * A party whose client (and watcher) can be closed and rebuilt from its store, and whose network
 * can be cut (`bus.setOnline(false)`). Identity, wallet, bus and store survive a restart.
 */
export interface RestartableParty {
  readonly name: string;
  readonly wire: Account;
  readonly participant: Account;
  readonly wallet: Wallet;
  readonly bus: GateBus;
  store: PersistRestorer;
  readonly stores: StoreFactory;
  client: Client;
  watcher: LocalWatcher;
  /** The `onUpdate` handler accepts plain updates only while this is true. */
  acceptUpdates: boolean;
  /** Adjudicator events of the party's watched channels. */
  readonly events: AdjudicatorEvent[];
  /** As a hub: the `onVirtualChannel` policy. */
  policy?: VirtualChannelPolicy;
}

/** Creates a party with `INITIAL_LEDGER_BALANCE` on the ledger and starts its client. */
export async function restartableParty(
  ctx: ScenarioContext,
  name: string,
  newStore: StoreFactory,
): Promise<RestartableParty> {
  const { wallet, newAccount } = ctx.setup.newWallet();
  const wire = await newAccount();
  const participant = await newAccount();
  await ctx.ledger.mint(participant.address, INITIAL_LEDGER_BALANCE);
  const bus = new GateBus(await ctx.network.busFor(wire));
  const store = await newStore.open(name, ctx);
  const p = {
    name,
    wire,
    participant,
    wallet,
    bus,
    store,
    stores: newStore,
    acceptUpdates: true,
    events: [],
  };
  startParty(ctx, p as unknown as RestartableParty);
  return p as unknown as RestartableParty;
}

/** Builds a fresh client and watcher for `p` on its identity, wallet, bus and store. */
export function startParty(ctx: ScenarioContext, p: RestartableParty): void {
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
    virtualMatchTimeoutMs: 2_000,
    syncTimeoutMs: 2_000,
  });
  p.client.handle({
    onProposal: async (_prop, r) => {
      await r.accept({ participant: p.participant.address, signal: ctx.signal });
    },
    onUpdate: async (_ch, _cur, _u, r) => {
      if (p.acceptUpdates) await r.accept();
      else await r.reject(`${p.name} accepts no plain updates now`);
    },
    onVirtualChannel: (req) => p.policy?.(req) ?? { accept: true },
  });
}

/** Closes `p`'s client and watcher (its store stays open). */
export async function stopParty(p: RestartableParty): Promise<void> {
  await p.client.close();
  await p.watcher.close();
}

/**
 * Stops `p`, reopens its store (if the factory can), starts a new client on it and restores
 * (watching, syncing).
 */
export async function restartParty(ctx: ScenarioContext, p: RestartableParty): Promise<RestoreReport> {
  await stopParty(p);
  if (p.stores.reopen) p.store = await p.stores.reopen(p.store, p.name, ctx);
  startParty(ctx, p);
  return await p.client.restore({
    signal: ctx.signal,
    syncTimeoutMs: 2_000,
    onEvent: (_ch, e) => {
      p.events.push(e);
    },
  });
}

/** Starts watching `ch` for `p` (events recorded in `p.events`). */
export async function watchFor(p: RestartableParty, ch: Channel): Promise<void> {
  await ch.watch((e) => {
    p.events.push(e);
  });
}

/** `proposer` opens a ledger channel `[proposerBal, responderBal]` with `responder`; both ends. */
export async function openLedger(
  ctx: ScenarioContext,
  proposer: RestartableParty,
  responder: RestartableParty,
  balances: readonly [bigint, bigint],
): Promise<[Channel, Channel]> {
  const accepted = new Promise<Channel>((resolve) => {
    const off = responder.client.onNewChannel((ch) => {
      off();
      resolve(ch);
    });
  });
  const ch = await proposer.client.proposeChannel(
    ledgerChannelProposal({
      challengeDuration: ctx.setup.challengeDuration,
      participant: proposer.participant.address,
      initBals: { assets: [ctx.ledger.asset], balances: [[...balances]], locked: [] },
      peers: [proposer.wire.address, responder.wire.address],
    }),
    { signal: ctx.signal },
  );
  return [ch, await accepted];
}
