/**
 * Two clients on the sim backend for the client's unit tests: a SimLedger, a LocalBus (optionally
 * serializing), memory persisters that survive a client restart, and helpers to open a channel
 * and to restart a party from its persisted data.
 */
import {
  ManualClock,
  SimAccount,
  SimAsset,
  SimChannelBackend,
  SimLedger,
  SimWallet,
} from "@perun-ts/backend-sim";
import {
  AppRegistry,
  type Funder,
  MemoryPersistRestorer,
  noApp,
  type Persister,
  type State,
  transfer,
} from "@perun-ts/core";
import { LocalWatcher } from "@perun-ts/watcher";
import { type Bus, EnvelopeCodec, LocalBus } from "@perun-ts/wire";
import type { Channel, Updater } from "./channel.js";
import { Client, type ClientOptions, type Handlers } from "./client.js";
import { ledgerChannelProposal } from "./proposal.js";

export interface TestParty {
  readonly name: string;
  readonly wire: SimAccount;
  readonly participant: SimAccount;
  readonly wallet: SimWallet;
  readonly store: MemoryPersistRestorer;
  client: Client;
  watcher: LocalWatcher;
}

export interface Fixture {
  readonly backend: SimChannelBackend;
  readonly ledger: SimLedger;
  readonly clock: ManualClock;
  readonly asset: SimAsset;
  readonly bus: Bus;
  readonly apps: AppRegistry;
  party(name: string, opts?: PartyOpts): TestParty;
  /** Closes the party's client and watcher and builds new ones on the same identity and store. */
  restart(p: TestParty, opts?: PartyOpts): Promise<void>;
  open(a: TestParty, b: TestParty, balances?: readonly [bigint, bigint]): Promise<[Channel, Channel]>;
  /** Only the proposer's side of `open`. */
  propose(a: TestParty, b: TestParty, balances?: readonly [bigint, bigint]): Promise<Channel>;
  close(): Promise<void>;
}

export interface PartyOpts {
  readonly persister?: Persister;
  readonly funder?: Funder;
  readonly bus?: Bus;
  readonly handlers?: Handlers;
  readonly client?: Partial<ClientOptions>;
}

export const acceptAllHandlers = (p: TestParty): Handlers => ({
  onProposal: async (_prop, r) => {
    await r.accept({ participant: p.participant.address });
  },
  onUpdate: async (_ch, _cur, _u, r) => {
    await r.accept();
  },
});

export function newFixture(opts: { serializing?: boolean } = {}): Fixture {
  const backend = new SimChannelBackend();
  const clock = new ManualClock(1_000n);
  const ledger = new SimLedger({ backend, clock });
  const asset = new SimAsset(1n);
  const apps = new AppRegistry();
  const bus: Bus = new LocalBus(
    opts.serializing === false ? {} : { codec: new EnvelopeCodec({ backend, apps }) },
  );
  const parties: TestParty[] = [];
  const build = (p: Omit<TestParty, "client" | "watcher">, o: PartyOpts = {}) => {
    const adjudicator = ledger.adjudicator();
    const watcher = new LocalWatcher({ adjudicator, account: p.participant });
    const client = new Client({
      identity: p.wire,
      bus: o.bus ?? bus,
      backend,
      wallet: p.wallet,
      funder: o.funder ?? ledger.funder(),
      adjudicator,
      watcher,
      apps,
      persister: o.persister ?? p.store,
      ...o.client,
    });
    client.handle(o.handlers ?? acceptAllHandlers(p as TestParty));
    return { client, watcher };
  };
  return {
    backend,
    ledger,
    clock,
    asset,
    bus,
    apps,
    party(name, o) {
      const wallet = new SimWallet();
      const wire = wallet.newAccount();
      const participant = wallet.newAccount();
      ledger.mint(participant.address, asset, 1_000n);
      const base = { name, wire, participant, wallet, store: new MemoryPersistRestorer() };
      const p = { ...base, ...build(base, o) } as TestParty;
      parties.push(p);
      return p;
    },
    async restart(p, o) {
      await p.client.close();
      await p.watcher.close();
      const built = build(p, o);
      p.client = built.client;
      p.watcher = built.watcher;
    },
    async open(a, b, balances = [100n, 100n]) {
      const accepted = new Promise<Channel>((resolve) => {
        const off = b.client.onNewChannel((ch) => {
          off();
          resolve(ch);
        });
      });
      const ch = await this.propose(a, b, balances);
      return [ch, await accepted];
    },
    propose(a, b, balances = [100n, 100n]) {
      return a.client.proposeChannel(
        ledgerChannelProposal({
          challengeDuration: 60n,
          participant: a.participant.address,
          initBals: { assets: [asset], balances: [[...balances]], locked: [] },
          peers: [a.wire.address, b.wire.address],
          app: noApp,
        }),
      );
    },
    async close() {
      for (const p of parties) {
        await p.client.close();
        await p.watcher.close();
      }
      await bus.close();
    },
  };
}

/** An updater paying `amount` from participant `from` to the other one. */
export function pay(from: number, amount: bigint): Updater {
  return (s: State) => ({ ...s, allocation: transfer(s.allocation, from, from ^ 1, [amount]) });
}

/** Waits (bounded) until `cond` holds; throws with `what` otherwise. */
export async function eventually(cond: () => boolean, what: string, maxMs = 5_000): Promise<void> {
  const until = Date.now() + maxMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export { SimAccount };

/** One persister call as seen by a `RecordingPersister`. */
export interface PersistCall {
  readonly method: "channelCreated" | "staged" | "sigAdded" | "enabled" | "phaseChanged" | "channelRemoved";
  readonly phase?: number;
  readonly idx?: number;
  /** Indices of the staging signatures the stored record holds. */
  readonly stagingSigs?: readonly number[];
  readonly stagingVersion?: bigint;
  readonly currentVersion?: bigint;
}

type Source = Parameters<Persister["staged"]>[0];

function describe(method: PersistCall["method"], src: Source | undefined, idx?: number): PersistCall {
  if (!src) return { method };
  return {
    method,
    phase: src.phase,
    ...(idx !== undefined ? { idx } : {}),
    ...(src.staging.state
      ? {
          stagingSigs: src.staging.sigs.flatMap((s, i) => (s === undefined ? [] : [i])),
          stagingVersion: src.staging.state.version,
        }
      : {}),
    ...(src.current.state ? { currentVersion: src.current.state.version } : {}),
  };
}

/**
 * Forwards to a `MemoryPersistRestorer` and records every call in `log` (shared with other
 * recorders, e.g. the sends of a `RecordingBus`). With `crashWhen`, the first matching call and
 * every later one throw instead of storing — `crashAfterWrite` stores the matching one first —
 * which freezes the store as a crash at that point would.
 */
export class RecordingPersister implements Persister {
  crashed = false;
  constructor(
    readonly inner: MemoryPersistRestorer,
    readonly log: (string | PersistCall)[] = [],
    readonly crashWhen?: (c: PersistCall) => boolean,
    readonly crashAfterWrite = false,
  ) {}

  async #do(call: PersistCall, write: () => Promise<void>): Promise<void> {
    if (this.crashed) throw new Error("crashed");
    const crashNow = this.crashWhen?.(call) ?? false;
    if (crashNow && !this.crashAfterWrite) {
      this.crashed = true;
      throw new Error("crashed");
    }
    await write();
    this.log.push(call);
    if (crashNow) {
      this.crashed = true;
      throw new Error("crashed");
    }
  }
  channelCreated(...a: Parameters<Persister["channelCreated"]>) {
    return this.#do(describe("channelCreated", a[0]), () => this.inner.channelCreated(...a));
  }
  staged(src: Source) {
    return this.#do(describe("staged", src), () => this.inner.staged(src));
  }
  sigAdded(src: Source, idx: number) {
    return this.#do(describe("sigAdded", src, idx), () => this.inner.sigAdded(src, idx));
  }
  enabled(src: Source) {
    return this.#do(describe("enabled", src), () => this.inner.enabled(src));
  }
  phaseChanged(src: Source) {
    return this.#do(describe("phaseChanged", src), () => this.inner.phaseChanged(src));
  }
  channelRemoved(id: Parameters<Persister["channelRemoved"]>[0]) {
    return this.#do(describe("channelRemoved", undefined), () => this.inner.channelRemoved(id));
  }
  async close(): Promise<void> {}
}
