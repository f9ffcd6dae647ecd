import { type Channel, Client, type Handlers, ledgerChannelProposal } from "@perun-ts/client";
import {
  type Account,
  type AdjudicatorEvent,
  type App,
  AppRegistry,
  type Funder,
  noApp,
  PaymentApp,
  transfer,
} from "@perun-ts/core";
import { LocalWatcher } from "@perun-ts/watcher";
import type { ScenarioLedger, ScenarioNetwork, ScenarioSetup } from "./setup.js";
import { TapBus } from "./tap-bus.js";
import { TrivialApp } from "./trivial-app.js";

/** Ledger balance every party starts with. */
export const INITIAL_LEDGER_BALANCE = 1_000n;

/** Shared objects of one scenario run. */
export interface ScenarioContext {
  readonly setup: ScenarioSetup;
  readonly ledger: ScenarioLedger;
  readonly network: ScenarioNetwork;
  readonly apps: AppRegistry;
  readonly paymentApp: App;
  readonly trivialApp: App;
  /** Aborted when the scenario ends; pass it to waits that must not outlive the scenario. */
  readonly signal: AbortSignal;
}

/** One role: a client with its wire identity, participant account, watcher and recorded events. */
export interface Party {
  readonly name: string;
  readonly wire: Account;
  readonly participant: Account;
  readonly client: Client;
  readonly bus: TapBus;
  readonly watcher: LocalWatcher;
  readonly adjudicator: ScenarioContextAdjudicator;
  /** Adjudicator events received through `watch`, in order. */
  readonly events: AdjudicatorEvent[];
  /** Resolves once an event matching `pred` was received. */
  event(pred: (e: AdjudicatorEvent) => boolean): Promise<AdjudicatorEvent>;
  /** Records an event (the handler `watchChannel` installs). */
  record(e: AdjudicatorEvent): void;
}

type ScenarioContextAdjudicator = ReturnType<ScenarioLedger["adjudicator"]>;

/**
 * Runs `body` with a fresh ledger and network; closes all clients, watchers, the network and the
 * ledger afterwards, whatever happens.
 */
export async function withScenario(
  setup: ScenarioSetup,
  body: (ctx: ScenarioContext, party: (name: string, opts?: PartyOptions) => Promise<Party>) => Promise<void>,
): Promise<void> {
  const ledger = await setup.newLedger();
  const paymentApp = new PaymentApp(await setup.newAppDef());
  const trivialApp = new TrivialApp(await setup.newAppDef());
  const apps = new AppRegistry().register(paymentApp).register(trivialApp);
  const network = await setup.newNetwork(apps);
  const ctrl = new AbortController();
  const ctx: ScenarioContext = { setup, ledger, network, apps, paymentApp, trivialApp, signal: ctrl.signal };
  const parties: Party[] = [];
  try {
    await body(ctx, async (name, opts) => {
      const p = await newParty(ctx, name, opts);
      parties.push(p);
      return p;
    });
  } finally {
    ctrl.abort(new Error("scenario ended"));
    for (const p of parties) await p.client.close();
    for (const p of parties) await p.watcher.close();
    await network.close();
    await ledger.close();
  }
}

/** Options of a party. */
export interface PartyOptions {
  /** Replaces the ledger's funder (e.g. one that never deposits). */
  readonly funder?: Funder;
}

async function newParty(ctx: ScenarioContext, name: string, opts: PartyOptions = {}): Promise<Party> {
  const { wallet, newAccount } = ctx.setup.newWallet();
  const wire = await newAccount();
  const participant = await newAccount();
  await ctx.ledger.mint(participant.address, INITIAL_LEDGER_BALANCE);
  const bus = new TapBus(await ctx.network.busFor(wire));
  const adjudicator = ctx.ledger.adjudicator();
  const watcher = new LocalWatcher({ adjudicator, account: participant });
  const client = new Client({
    identity: wire,
    bus,
    backend: ctx.setup.backend,
    wallet,
    funder: opts.funder ?? ctx.ledger.funder(),
    adjudicator,
    watcher,
    apps: ctx.apps,
  });
  const events: AdjudicatorEvent[] = [];
  const waiters = new Set<{
    pred: (e: AdjudicatorEvent) => boolean;
    resolve: (e: AdjudicatorEvent) => void;
  }>();
  return {
    name,
    wire,
    participant,
    client,
    bus,
    watcher,
    adjudicator,
    events,
    event(pred) {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.add({ pred, resolve }));
    },
    record(e) {
      events.push(e);
      for (const w of [...waiters]) {
        if (w.pred(e)) {
          waiters.delete(w);
          w.resolve(e);
        }
      }
    },
  };
}

/** Starts watching `ch` for `party`, recording the events in `party.events`. */
export async function watchChannel(party: Party, ch: Channel): Promise<void> {
  await ch.watch((e) => party.record(e));
}

/** Handlers that accept every proposal (as `participant`) and every update. */
export function acceptAll(party: Party, onChannel?: (ch: Channel) => void): Handlers {
  return {
    onProposal: async (_p, r) => {
      const ch = await r.accept({ participant: party.participant.address });
      onChannel?.(ch);
    },
    onUpdate: async (_ch, _cur, _u, r) => {
      await r.accept();
    },
  };
}

/**
 * Opens a two-party ledger channel: `proposer` proposes `[proposerBal, responderBal]`,
 * `responder` (whose handlers must accept) accepts. Returns both ends.
 */
export async function openChannel(
  ctx: ScenarioContext,
  proposer: Party,
  responder: Party,
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
    ledgerChannelProposal({
      challengeDuration: ctx.setup.challengeDuration,
      participant: proposer.participant.address,
      initBals: { assets: [ctx.ledger.asset], balances: [[...balances]], locked: [] },
      peers: [proposer.wire.address, responder.wire.address],
      app,
    }),
    { signal: ctx.signal },
  );
  return [ch, await accepted];
}

/** An updater paying `amount` from participant `from` to the other participant. */
export function pay(from: number, amount: bigint) {
  return (s: Parameters<Parameters<Channel["update"]>[0]>[0]) => ({
    ...s,
    allocation: transfer(s.allocation, from, from ^ 1, [amount]),
  });
}

/** Both channel ends hold `balances` at `version`. */
export function balancesOf(ch: Channel): bigint[] {
  return [...(ch.state.allocation.balances[0] ?? [])];
}
