import {
  ManualClock,
  type Secp256k1,
  SimAccount,
  type SimAdjudicator,
  SimAsset,
  SimChannelBackend,
  SimLedger,
  SimWallet,
} from "@perun-ts/backend-sim";
import { type Channel, Client, ledgerChannelProposal } from "@perun-ts/client";
import {
  type Address,
  type AdjudicatorEvent,
  AppRegistry,
  channelIdEquals,
  cloneTransaction,
  type Logger,
  MemoryPersistRestorer,
  PaymentApp,
  type State,
  type Transaction,
} from "@perun-ts/core";
import { LocalWatcher } from "@perun-ts/watcher";
import { type Bus, type Envelope, EnvelopeCodec, LocalBus, type Message, MessageType } from "@perun-ts/wire";
import { ConsentBackend } from "./consent-backend.js";
import { ObservedBus } from "./observed-bus.js";
import type { RejectionMonitor } from "./rejection-monitor.js";

/** Ledger balance minted to every participant of an adversarial world. */
export const WORLD_MINT = 1_000n;
/** Challenge duration (ledger seconds) of the world's channel. */
export const WORLD_CHALLENGE = 60n;

/** How the channel of a world is opened. */
export interface WorldOptions {
  /** The honest party's participant index (0: it has priority in update conflicts). */
  readonly honestIdx: 0 | 1;
  /** Who proposes the channel. */
  readonly proposer: "honest" | "adversary";
  /** Initial balances `[participant 0, participant 1]`. */
  readonly balances: readonly [bigint, bigint];
  /** The signer of every account and of the backend (default noble). */
  readonly secp256k1?: Secp256k1;
  /** How long the honest client's syncs wait (ms). */
  readonly syncTimeoutMs?: number;
}

/** A logger that keeps warnings and errors (a background task failing shows up here). */
export class RecordingLogger implements Logger {
  readonly lines: string[];
  constructor(lines: string[] = []) {
    this.lines = lines;
  }
  debug(): void {}
  info(): void {}
  warn(msg: string, fields?: Readonly<Record<string, unknown>>): void {
    this.lines.push(`warn ${msg} ${fields ? String(fields.error ?? fields.reason ?? "") : ""}`);
  }
  error(msg: string, fields?: Readonly<Record<string, unknown>>): void {
    this.lines.push(`error ${msg} ${fields ? String(fields.error ?? fields.reason ?? "") : ""}`);
  }
  child(): Logger {
    return this;
  }
}

/**
 * The honest side: a real client with a watcher, signing only what it consented to. Its client,
 * watcher and channel are replaced by `AdversaryWorld.restartHonest` (identity, wallet, bus,
 * signer and store survive).
 */
export interface HonestSide {
  readonly wire: SimAccount;
  readonly participant: SimAccount;
  readonly wallet: SimWallet;
  client: Client;
  watcher: LocalWatcher;
  adjudicator: SimAdjudicator;
  /** The honest party's connection (`cut` drops it for a while). */
  readonly bus: ObservedBus;
  /** Where the honest client persists its channels (a restart restores from it). */
  readonly store: MemoryPersistRestorer;
  /** How many times the honest client was restarted. */
  restarts: number;
  readonly consent: ConsentBackend;
  readonly log: RecordingLogger;
  /** Errors the client reported through `onSyncError` (rejected hostile syncs among them). */
  readonly syncErrors: unknown[];
  readonly events: AdjudicatorEvent[];
  channel: Channel;
}

/**
 * The adversary: controls its own keys (wire and participant), runs a real client as its
 * "cooperating path" for honest operations, and injects raw envelopes on the bus in its name.
 */
export interface AdversarySide {
  readonly wire: SimAccount;
  readonly participant: SimAccount;
  readonly client: Client;
  readonly watcher: LocalWatcher;
  readonly adjudicator: SimAdjudicator;
  /** Sees every envelope the adversary receives (the honest party's answers). */
  readonly bus: ObservedBus;
  channel: Channel;
}

/**
 * One honest client and one adversary on a serializing LocalBus and a SimLedger with a manual
 * clock, with their ledger channel open and funded. Everything a test needs to attack the honest
 * party and to check what it holds.
 */
export class AdversaryWorld {
  readonly backend: SimChannelBackend;
  readonly clock: ManualClock;
  readonly ledger: SimLedger;
  readonly asset = new SimAsset(1n);
  readonly otherAsset = new SimAsset(2n);
  readonly apps: AppRegistry;
  readonly paymentApp: PaymentApp;
  readonly bus: Bus;
  readonly monitor: RejectionMonitor;
  readonly honest: HonestSide;
  readonly adversary: AdversarySide;
  /** A third identity (its own subscription): hostile messages sent in its name get answers here. */
  readonly sybil: { readonly wire: SimAccount; readonly received: Envelope[] };
  /** Every fully signed transaction either side enabled, oldest first. */
  readonly history: Transaction[] = [];
  /** Every envelope exchanged between the two parties (for replays). */
  readonly transcript: Envelope[] = [];
  readonly opts: WorldOptions;
  readonly #closers: (() => Promise<void>)[] = [];

  private constructor(opts: WorldOptions, monitor: RejectionMonitor) {
    this.opts = opts;
    this.monitor = monitor;
    const secp = opts.secp256k1 ? { secp256k1: opts.secp256k1 } : {};
    this.backend = new SimChannelBackend(secp);
    this.clock = new ManualClock(1_000n);
    this.ledger = new SimLedger({ backend: this.backend, clock: this.clock });
    this.paymentApp = new PaymentApp(SimAccount.random(secp).address);
    this.apps = new AppRegistry().register(this.paymentApp);
    this.bus = new LocalBus({ codec: new EnvelopeCodec({ backend: this.backend, apps: this.apps }) });

    const honestWallet = new SimWallet(secp);
    const hWire = honestWallet.newAccount();
    const hPart = honestWallet.newAccount();
    const consent = new ConsentBackend(this.backend);
    const hBus = new ObservedBus(this.bus);
    hBus.tap((env) => this.transcript.push(env));
    this.honest = {
      wire: hWire,
      participant: hPart,
      wallet: honestWallet,
      client: undefined as unknown as Client,
      watcher: undefined as unknown as LocalWatcher,
      adjudicator: undefined as unknown as SimAdjudicator,
      bus: hBus,
      store: new MemoryPersistRestorer(),
      restarts: 0,
      consent,
      log: new RecordingLogger(),
      syncErrors: [],
      events: [],
      channel: undefined as unknown as Channel,
    };
    this.#startHonest();

    const advWallet = new SimWallet(secp);
    const aWire = advWallet.newAccount();
    const aPart = advWallet.newAccount();
    const aAdj = this.ledger.adjudicator();
    const aWatcher = new LocalWatcher({ adjudicator: aAdj, account: aPart, retryDelayMs: 5 });
    const aBus = new ObservedBus(this.bus);
    aBus.tap((env) => this.transcript.push(env));
    const aClient = new Client({
      identity: aWire,
      bus: aBus,
      backend: this.backend,
      wallet: advWallet,
      funder: this.ledger.funder(),
      adjudicator: aAdj,
      watcher: aWatcher,
      apps: this.apps,
      decisionTimeoutMs: 5_000,
      syncTimeoutMs: opts.syncTimeoutMs ?? 500,
    });
    this.adversary = {
      wire: aWire,
      participant: aPart,
      client: aClient,
      watcher: aWatcher,
      adjudicator: aAdj,
      bus: aBus,
      channel: undefined as unknown as Channel,
    };

    const sybilWire = SimAccount.random(secp);
    const received: Envelope[] = [];
    const unsubscribe = this.bus.subscribe(sybilWire.address, (env) => {
      received.push(env);
    });
    this.sybil = { wire: sybilWire, received };

    this.#closers.push(
      () => this.honest.client.close(),
      () => aClient.close(),
      () => this.honest.watcher.close(),
      () => aWatcher.close(),
      async () => unsubscribe(),
      () => this.bus.close(),
    );
  }

  /** Builds the world and opens the channel (both deposit; the honest side watches it). */
  static async create(opts: WorldOptions, monitor: RejectionMonitor): Promise<AdversaryWorld> {
    const w = new AdversaryWorld(opts, monitor);
    try {
      await w.#open();
    } catch (e) {
      await w.close();
      throw e;
    }
    return w;
  }

  /** The adversary's participant index. */
  get advIdx(): number {
    return this.opts.honestIdx ^ 1;
  }

  /** The honest party's balance in `state`. */
  honestBalance(state: State): bigint {
    return state.allocation.balances[0]?.[this.opts.honestIdx] ?? 0n;
  }

  /** What the honest party deposited. */
  get honestDeposit(): bigint {
    return this.opts.balances[this.opts.honestIdx];
  }

  /** The honest party's on-ledger payout so far: its ledger balance minus what it had left after depositing. */
  honestPayout(): bigint {
    return (
      this.ledger.balanceOf(this.honest.participant.address, this.asset) - (WORLD_MINT - this.honestDeposit)
    );
  }

  /** Sends `message` to the honest party in the adversary's name (or `sender`'s). */
  async inject(message: Message, sender: Address = this.adversary.wire.address): Promise<void> {
    await this.bus.publish({ sender, recipient: this.honest.wire.address, message });
  }

  /** Proposals the honest party still accepts (it opens one channel only). */
  #honestProposalsLeft = 1;

  /** Builds the honest client and watcher on the honest identity, wallet, bus, signer and store. */
  #startHonest(): void {
    const h = this.honest;
    h.adjudicator = this.ledger.adjudicator();
    h.watcher = new LocalWatcher({ adjudicator: h.adjudicator, account: h.participant, retryDelayMs: 5 });
    h.client = new Client({
      identity: h.wire,
      bus: h.bus,
      backend: h.consent,
      wallet: h.wallet,
      funder: this.ledger.funder(),
      adjudicator: h.adjudicator,
      watcher: h.watcher,
      apps: this.apps,
      logger: h.log,
      persister: h.store,
      decisionTimeoutMs: 5_000,
      syncTimeoutMs: this.opts.syncTimeoutMs ?? 500,
    });
    h.client.onSyncError((e) => h.syncErrors.push(e));
    h.client.handle({
      onProposal: async (_p, r) => {
        if (this.#honestProposalsLeft-- > 0) await r.accept({ participant: h.participant.address });
        else await r.reject("this party opens one channel only");
      },
      onUpdate: async (_ch, cur, u, r) => {
        // The honest user's policy: accept what does not take its money; everything else is refused.
        if (this.honestBalance(u.state) >= this.honestBalance(cur)) {
          h.consent.consent(u.state);
          await r.accept();
        } else await r.reject("that takes my money");
      },
    });
  }

  /**
   * Restarts the honest party as a crashed and relaunched process would: closes its client and
   * watcher, builds new ones on the same identity, wallet, bus, signer and store, and restores the
   * channel from the store (re-watched, synced with the adversary). Throws if the channel does not
   * come back.
   */
  async restartHonest(signal: AbortSignal): Promise<void> {
    const h = this.honest;
    const id = h.channel.id;
    await h.client.close();
    await h.watcher.close();
    this.#startHonest();
    h.restarts++;
    const report = await h.client.restore({
      signal,
      onEvent: (_ch, e) => {
        h.events.push(e);
      },
    });
    const restored = report.channels.find((c) => channelIdEquals(c.channel.id, id));
    if (!restored) {
      const why = report.failed.map((f) => `${f.id}: ${String(f.error)}`).join("; ");
      throw new Error(`the honest channel was not restored (${report.channels.length} restored; ${why})`);
    }
    h.channel = restored.channel;
    this.#recordHistory(h.channel);
  }

  /** Records every state `c` enables in `history`. */
  #recordHistory(c: Channel): void {
    c.onUpdate(() => this.history.push(cloneTransaction(c.current)));
  }

  async #open(): Promise<void> {
    const { honest: h, adversary: a, opts } = this;
    let advProposalsLeft = 1;
    a.client.handle({
      onProposal: async (_p, r) => {
        if (advProposalsLeft-- > 0) await r.accept({ participant: a.participant.address });
        else await r.reject("no");
      },
      onUpdate: async (_ch, _cur, _u, r) => {
        await r.accept();
      },
    });
    this.ledger.mint(h.participant.address, this.asset, WORLD_MINT);
    this.ledger.mint(a.participant.address, this.asset, WORLD_MINT);

    const [proposer, responder] = opts.proposer === "honest" ? [h, a] : [a, h];
    if (opts.proposer === "honest") this.#honestProposalsLeft = 0;
    else advProposalsLeft = 0;
    // The proposer is participant 0; pick the proposer's side so that honestIdx holds.
    const proposerIdx = opts.proposer === "honest" ? opts.honestIdx : this.advIdx;
    if (proposerIdx !== 0) {
      throw new Error("the proposer is participant 0: choose proposer and honestIdx consistently");
    }
    const accepted = new Promise<Channel>((resolve) => {
      const off = responder.client.onNewChannel((ch) => {
        off();
        resolve(ch);
      });
    });
    const signal = AbortSignal.timeout(10_000);
    const ch = await proposer.client.proposeChannel(
      ledgerChannelProposal({
        challengeDuration: WORLD_CHALLENGE,
        participant: proposer.participant.address,
        initBals: { assets: [this.asset], balances: [[...opts.balances]], locked: [] },
        peers: [proposer.wire.address, responder.wire.address],
      }),
      { signal },
    );
    const other = await accepted;
    h.channel = opts.proposer === "honest" ? ch : other;
    a.channel = opts.proposer === "honest" ? other : ch;
    this.history.push(cloneTransaction(h.channel.current));
    for (const c of [h.channel, a.channel]) this.#recordHistory(c);
    await h.channel.watch((e) => {
      h.events.push(e);
    });
  }

  /** Closes clients, watchers and the bus (idempotent enough: each closer runs once). */
  async close(): Promise<void> {
    const closers = this.#closers.splice(0);
    for (const c of closers) {
      try {
        await c();
      } catch {
        // closing is best effort; the test's assertions already ran
      }
    }
  }
}

/** True for a message the honest party sends in answer to an update of `version` of its channel. */
export function isUpdateAnswer(env: Envelope, version: bigint): boolean {
  const m = env.message;
  return (
    (m.type === MessageType.ChannelUpdateAcc || m.type === MessageType.ChannelUpdateRej) &&
    m.version === version
  );
}
