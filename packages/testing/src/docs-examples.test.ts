// The code snippets of docs/getting-started.md and docs/backend-guide.md, compiled and run so
// the guides cannot drift from the exported API. Each `describe` names the section it backs; when
// you change a snippet here, change the guide too (and the other way round).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ManualClock,
  SimAccount,
  SimAsset,
  SimChannelBackend,
  SimLedger,
  SimWallet,
} from "@perun-ts/backend-sim";
import {
  type Channel,
  ChannelNotFundedError,
  Client,
  type Handlers,
  ledgerChannelProposal,
  ResponderUsedError,
  subChannelProposal,
  type VirtualChannelRequest,
  virtualChannelProposal,
} from "@perun-ts/client";
import {
  type AdjudicatorEvent,
  AppRegistry,
  type DecodeContext,
  FundingTimeoutError,
  MemoryPersistRestorer,
  PeerRejectedError,
  type PersistRestorer,
  PerunError,
  Phase,
  RequestTimedOutError,
  StateTransitionError,
  transfer,
  ValidationError,
} from "@perun-ts/core";
import { LocalWatcher } from "@perun-ts/watcher";
import { AddressBook, type Bus, EnvelopeCodec, LocalBus, NetBus } from "@perun-ts/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  busSuite,
  channelBackendSuite,
  describeClientScenarios,
  ledgerConformanceSuite,
  persistRestorerSuite,
  type ScenarioSetup,
  serializingLocalNetwork,
  TrivialApp,
  walletSuite,
} from "./index.js";

// ------------------------------------------------------------------------------------------------
// getting-started.md §2 "Wire up two clients" (backend-sim, SimLedger, LocalBus)
// ------------------------------------------------------------------------------------------------

/** One node: a wallet with a wire identity and a participant key, its watcher and client. */
interface Node {
  readonly client: Client;
  readonly identity: SimAccount;
  readonly participant: SimAccount;
  readonly watcher: LocalWatcher;
}

/** The shared world of a getting-started example: one backend, one ledger, one bus. */
function world() {
  const backend = new SimChannelBackend();
  const apps = new AppRegistry(); // register your apps here; payment channels need none
  const clock = new ManualClock(); // ledger time moves only when you call clock.advance(seconds)
  const ledger = new SimLedger({ backend, clock, initialBalance: 1_000n });
  const asset = new SimAsset(1n);
  // Round-trips every envelope through the wire codec, like a real network would.
  const bus = new LocalBus({ codec: new EnvelopeCodec({ backend, apps }) });

  function node(opts: { persister?: PersistRestorer; bus?: Bus } = {}): Node {
    const wallet = new SimWallet();
    const identity = wallet.newAccount(); // wire address: who you are on the network
    const participant = wallet.newAccount(); // signs channel states; owns the ledger funds
    const adjudicator = ledger.adjudicator();
    const watcher = new LocalWatcher({ adjudicator, account: participant });
    const client = new Client({
      identity,
      bus: opts.bus ?? bus,
      backend,
      wallet,
      funder: ledger.funder(),
      adjudicator,
      watcher,
      apps,
      ...(opts.persister ? { persister: opts.persister } : {}),
    });
    return { client, identity, participant, watcher };
  }

  return { backend, apps, clock, ledger, asset, bus, node };
}

/** Accepts every proposal as `me` and every update (getting-started §2). */
function acceptEverything(me: Node): Handlers {
  return {
    onProposal: async (_proposal, responder) => {
      await responder.accept({ participant: me.participant.address, signal: AbortSignal.timeout(10_000) });
    },
    onUpdate: (_channel, _current, _update, responder) => responder.accept(),
  };
}

async function closeAll(nodes: readonly Node[], bus?: Bus): Promise<void> {
  for (const n of nodes) await n.client.close();
  for (const n of nodes) await n.watcher.close();
  await bus?.close();
}

/** Opens a 100/100 channel from `alice` to `bob` and returns both ends (getting-started §3). */
async function open(w: ReturnType<typeof world>, alice: Node, bob: Node): Promise<[Channel, Channel]> {
  const bobsEnd = new Promise<Channel>((resolve) => {
    const off = bob.client.onNewChannel((ch) => {
      off();
      resolve(ch);
    });
  });
  const channel = await alice.client.proposeChannel(
    ledgerChannelProposal({
      challengeDuration: 60n, // seconds of ledger time a dispute stays open
      participant: alice.participant.address,
      initBals: { assets: [w.asset], balances: [[100n, 100n]], locked: [] },
      peers: [alice.identity.address, bob.identity.address],
    }),
    { signal: AbortSignal.timeout(10_000) },
  );
  return [channel, await bobsEnd];
}

describe("docs: getting-started", () => {
  it("§3 open, pay, settle cooperatively", async () => {
    const w = world();
    const alice = w.node();
    const bob = w.node();
    try {
      alice.client.handle({
        onProposal: (_p, r) => r.reject("Alice does not accept channels"),
        onUpdate: (_ch, _cur, _u, r) => r.accept(),
      });
      bob.client.handle(acceptEverything(bob));

      const [channel, bobsChannel] = await open(w, alice, bob);
      expect(channel.phase).toBe(Phase.Acting);
      expect(bobsChannel.idHex).toBe(channel.idHex);

      const events: AdjudicatorEvent[] = [];
      await channel.watch((event) => {
        events.push(event);
      });

      const signal = AbortSignal.timeout(10_000);
      // Alice (participant 0) pays Bob (participant 1) 5 of asset 0.
      await channel.update((s) => ({ ...s, allocation: transfer(s.allocation, 0, 1, [5n]) }), { signal });
      expect(channel.state.allocation.balances).toEqual([[95n, 105n]]);
      expect(bobsChannel.state.allocation.balances).toEqual([[95n, 105n]]);

      // Finalise, then both settle (Bob as the secondary, which lets a backend save a transaction).
      await channel.update((s) => ({ ...s, isFinal: true }), { signal });
      expect(bobsChannel.phase).toBe(Phase.Final);
      await Promise.all([channel.settle({ signal }), bobsChannel.settle({ signal, secondary: true })]);

      expect(w.ledger.balanceOf(alice.participant.address, w.asset)).toBe(995n);
      expect(w.ledger.balanceOf(bob.participant.address, w.asset)).toBe(1_005n);
      expect(alice.client.channel(channel.id)).toBeUndefined(); // settled channels leave the client
      // A cooperative settlement registers nothing; the watcher only reports the conclusion.
      expect(events.map((e) => e.type)).toEqual(["concluded"]);
    } finally {
      await closeAll([alice, bob], w.bus);
    }
  });

  it("§4 dispute: settle a non-final channel through the adjudicator", async () => {
    const w = world();
    const alice = w.node();
    const bob = w.node();
    try {
      alice.client.handle(acceptEverything(alice));
      bob.client.handle(acceptEverything(bob));
      const [channel, bobsChannel] = await open(w, alice, bob);
      const bobEvents: AdjudicatorEvent[] = [];
      await bobsChannel.watch((e) => {
        bobEvents.push(e);
      });
      await channel.update((s) => ({ ...s, allocation: transfer(s.allocation, 0, 1, [30n]) }));

      // Bob is unresponsive; Alice settles without him. settle() registers the current state and
      // waits (abortably) until the challenge duration has passed in ledger time.
      const registered = new Promise<void>((resolve) => {
        const off = w.ledger.adjudicator();
        void off.subscribe(channel.id).then(async (sub) => {
          for await (const ev of sub) {
            if (ev.type === "registered") break;
          }
          sub.close();
          resolve();
        });
      });
      const settling = channel.settle({ signal: AbortSignal.timeout(10_000) });
      await registered;
      w.clock.advance(60n); // in production: real time passes
      await settling;

      expect(w.ledger.balanceOf(alice.participant.address, w.asset)).toBe(970n);
      // Bob's watcher saw the registration; he withdraws his share later with settle().
      expect(bobEvents.map((e) => e.type)).toContain("registered");
      await bobsChannel.settle({ signal: AbortSignal.timeout(10_000) });
      expect(w.ledger.balanceOf(bob.participant.address, w.asset)).toBe(1_030n);
    } finally {
      await closeAll([alice, bob], w.bus);
    }
  });

  it("§2 NetBus over TCP with the authenticated handshake", async () => {
    const w = world();
    const book = new AddressBook(); // wire address → where that peer listens
    const buses: NetBus[] = [];
    async function tcpBus(identity: SimAccount): Promise<NetBus> {
      const bus = new NetBus({
        identity, // proves control of identity.address to every peer
        verifySignature: (signer, data, sig) => w.backend.verifyData(signer, data, sig),
        codec: new EnvelopeCodec({ backend: w.backend, apps: w.apps }),
        addressBook: book,
      });
      book.set(identity.address, await bus.listen({ host: "127.0.0.1", port: 0 }));
      buses.push(bus);
      return bus;
    }
    // Build the nodes on their own buses (the world's LocalBus stays unused).
    const aliceId = SimAccount.random();
    const bobId = SimAccount.random();
    const nodes: Node[] = [];
    try {
      const alice = nodeWithIdentity(w, aliceId, await tcpBus(aliceId));
      const bob = nodeWithIdentity(w, bobId, await tcpBus(bobId));
      nodes.push(alice, bob);
      alice.client.handle(acceptEverything(alice));
      bob.client.handle(acceptEverything(bob));
      const [channel, bobsChannel] = await open(w, alice, bob);
      await channel.update((s) => ({ ...s, allocation: transfer(s.allocation, 0, 1, [1n]) }));
      expect(bobsChannel.state.version).toBe(1n);
    } finally {
      await closeAll(nodes);
      await Promise.all(buses.map((b) => b.close()));
      await w.bus.close();
    }
  });

  it("§5 persistence: LevelPersistRestorer, restart, restore", async () => {
    const dir = mkdtempSync(join(tmpdir(), "perun-docs-"));
    const w = world();
    const ctx: DecodeContext = { backend: w.backend, apps: w.apps };
    const nodes: Node[] = [];
    const stores: PersistRestorer[] = [];
    try {
      const level = await openLevel(join(dir, "alice"), ctx);
      stores.push(level);
      const bobStore = new MemoryPersistRestorer(); // core's in-memory PersistRestorer
      stores.push(bobStore);
      const aliceWallet = new SimWallet();
      const keys = {
        wallet: aliceWallet,
        identity: aliceWallet.newAccount(),
        participant: aliceWallet.newAccount(),
      };
      const alice = nodeWithKeys(w, keys, level);
      const bob = w.node({ persister: bobStore });
      nodes.push(alice, bob);
      alice.client.handle(acceptEverything(alice));
      bob.client.handle(acceptEverything(bob));
      const [channel] = await open(w, alice, bob);
      await channel.update((s) => ({ ...s, allocation: transfer(s.allocation, 0, 1, [7n]) }));

      // "Restart" Alice: close client, watcher and database, then start again from disk.
      await alice.client.close();
      await alice.watcher.close();
      await level.close();
      nodes.splice(nodes.indexOf(alice), 1);

      const reopened = await openLevel(join(dir, "alice"), ctx);
      stores.push(reopened);
      const alice2 = nodeWithKeys(w, keys, reopened);
      nodes.push(alice2);
      alice2.client.handle(acceptEverything(alice2));
      const report = await alice2.client.restore({ signal: AbortSignal.timeout(10_000) });
      expect(report.failed).toEqual([]);
      expect(report.channels).toHaveLength(1);
      const restored = report.channels[0];
      expect(restored?.error).toBeUndefined();
      expect(restored?.sync).toBe("in-sync");
      const ch = restored?.channel as Channel;
      expect(ch.state.allocation.balances).toEqual([[93n, 107n]]);
      await ch.update((s) => ({ ...s, allocation: transfer(s.allocation, 0, 1, [3n]) }));
      expect(ch.state.version).toBe(2n);
    } finally {
      await closeAll(nodes, w.bus);
      for (const s of stores) await s.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("§6 errors: rejection, invalid update, invalid proposal, timeout, second responder call", async () => {
    const w = world();
    const alice = w.node();
    const bob = w.node();
    try {
      alice.client.handle(acceptEverything(alice));
      let reportSecondCall!: (e: unknown) => void;
      const secondCall = new Promise<unknown>((resolve) => {
        reportSecondCall = resolve;
      });
      bob.client.handle({
        onProposal: async (_p, r) => {
          await r.accept({ participant: bob.participant.address });
        },
        onUpdate: async (_ch, _cur, update, responder) => {
          if (update.state.allocation.balances[0]?.[1] === 150n) {
            await responder.reject("too much at once");
            // Each responder answers once: a second call fails.
            reportSecondCall(await responder.accept().catch((e: unknown) => e));
          } else await responder.accept();
        },
      });
      const [channel] = await open(w, alice, bob);

      // The peer says no: PeerRejectedError with the peer's reason; the state is unchanged.
      const rejected = await channel
        .update((s) => ({ ...s, allocation: transfer(s.allocation, 0, 1, [50n]) }))
        .catch((e: unknown) => e);
      expect(rejected).toBeInstanceOf(PeerRejectedError);
      expect((rejected as PeerRejectedError).reason).toBe("too much at once");
      expect(await secondCall).toBeInstanceOf(ResponderUsedError);
      expect(channel.state.version).toBe(0n);

      // A state that breaks a rule is refused locally; nothing is sent.
      const overspend = await channel
        .update((s) => ({ ...s, allocation: { ...s.allocation, balances: [[300n, 100n]] } }))
        .catch((e: unknown) => e);
      expect(overspend).toBeInstanceOf(StateTransitionError);

      // An invalid proposal fails before anything is sent.
      expect(() =>
        ledgerChannelProposal({
          challengeDuration: 0n,
          participant: alice.participant.address,
          initBals: { assets: [w.asset], balances: [[1n, 1n]], locked: [] },
          peers: [alice.identity.address, bob.identity.address],
        }),
      ).toThrow(ValidationError);

      // Nobody answers before the signal fires: RequestTimedOutError.
      const nobody = SimAccount.random().address;
      const timedOut = await alice.client
        .proposeChannel(
          ledgerChannelProposal({
            challengeDuration: 60n,
            participant: alice.participant.address,
            initBals: { assets: [w.asset], balances: [[1n, 1n]], locked: [] },
            peers: [alice.identity.address, nobody],
          }),
          { signal: AbortSignal.timeout(200) },
        )
        .catch((e: unknown) => e);
      expect(timedOut).toBeInstanceOf(RequestTimedOutError);
      expect(timedOut).toBeInstanceOf(PerunError); // every error of perun-ts is a PerunError
    } finally {
      await closeAll([alice, bob], w.bus);
    }
  });

  it("§6 errors: funding fails, the deposit is recovered with settle()", async () => {
    const w = world();
    const alice = w.node();
    // Bob's funder never deposits (his node crashed before funding, say).
    const bob = nodeWith(w, { funder: { fund: () => new Promise<void>(() => {}) } });
    try {
      alice.client.handle(acceptEverything(alice));
      bob.client.handle({
        onProposal: (_p, r) => {
          // Bob accepts but never funds; his accept() never resolves. Fire and forget is fine
          // here: closing his client rejects it with ClosedError.
          r.accept({ participant: bob.participant.address }).catch(() => {});
        },
        onUpdate: (_ch, _cur, _u, r) => r.accept(),
      });
      const proposing = open(w, alice, bob).catch((e: unknown) => e);
      // Let the SimLedger's funding timeout (= challenge duration) pass in ledger time.
      await waitUntil(() => w.ledger.balanceOf(alice.participant.address, w.asset) === 900n);
      w.clock.advance(61n);
      const err = await proposing;
      expect(err).toBeInstanceOf(ChannelNotFundedError);
      const notFunded = err as ChannelNotFundedError;
      expect(notFunded.cause).toBeInstanceOf(FundingTimeoutError);

      const settling = notFunded.channel.settle({ signal: AbortSignal.timeout(10_000) });
      await waitUntil(() => w.ledger.dispute(notFunded.channel.id) !== undefined);
      w.clock.advance(60n);
      await settling;
      expect(w.ledger.balanceOf(alice.participant.address, w.asset)).toBe(1_000n);
    } finally {
      await closeAll([alice, bob], w.bus);
    }
  });

  it("§8 sub-channel: funded from an open channel, settled back into it", async () => {
    const w = world();
    const alice = w.node();
    const bob = w.node();
    try {
      alice.client.handle(acceptEverything(alice));
      bob.client.handle(acceptEverything(bob)); // accepts with the participant of the parent
      const [ledger, bobsLedger] = await open(w, alice, bob);
      const signal = AbortSignal.timeout(10_000);

      const bobsSub = new Promise<Channel>((resolve) => {
        const off = bob.client.onNewChannel((ch) => {
          off();
          resolve(ch);
        });
      });
      // 10 of each participant's parent balance moves into the sub-channel (parent order).
      const sub = await alice.client.proposeChannel(
        subChannelProposal({
          parent: ledger.id,
          challengeDuration: 60n,
          initBals: { assets: [w.asset], balances: [[10n, 10n]], locked: [] },
        }),
        { signal },
      );
      const bobsEnd = await bobsSub;
      expect(ledger.state.allocation.balances).toEqual([[90n, 90n]]);
      expect(ledger.state.allocation.locked.length).toBe(1); // the sub-channel's locked funds
      expect(sub.isSubChannel && sub.parent === ledger).toBe(true);
      expect(ledger.children).toEqual([sub]);

      await sub.update((s) => ({ ...s, allocation: transfer(s.allocation, 0, 1, [3n]) }), { signal });
      // Either participant may finalise; then both settle: the final balances go back into the parent.
      await bobsEnd.update((s) => ({ ...s, isFinal: true }), { signal });
      await Promise.all([sub.settle({ signal }), bobsEnd.settle({ signal })]);

      expect(ledger.state.allocation.balances).toEqual([[97n, 103n]]);
      expect(bobsLedger.state.allocation.balances).toEqual([[97n, 103n]]);
      expect(ledger.state.allocation.locked).toEqual([]);
      expect(sub.isClosed).toBe(true);
      expect(alice.client.channel(sub.id)).toBeUndefined();
    } finally {
      await closeAll([alice, bob], w.bus);
    }
  });

  it("§8 virtual channel: Alice and Bob through the hub Ingrid", async () => {
    const w = world();
    const alice = w.node();
    const bob = w.node();
    const ingrid = w.node(); // the hub: an ordinary client with a ledger channel to each of them
    const asked: VirtualChannelRequest[] = [];
    try {
      alice.client.handle(acceptEverything(alice));
      bob.client.handle(acceptEverything(bob));
      ingrid.client.handle({
        ...acceptEverything(ingrid),
        // Called once both halves of the funding matched; default without this hook: accept.
        onVirtualChannel: (request) => {
          asked.push(request);
          const total = request.initial.allocation.balances[0]?.reduce((a, b) => a + b, 0n) ?? 0n;
          return total <= 50n ? { accept: true } : { accept: false, reason: "too large for this hub" };
        },
      });
      const signal = AbortSignal.timeout(10_000);
      // Alice–Ingrid and Bob–Ingrid ledger channels, 100/100 each; Alice and Bob are index 0 in theirs.
      const [aliceI] = await open(w, alice, ingrid);
      const [bobI] = await open(w, bob, ingrid);

      const bobsVirtual = new Promise<Channel>((resolve) => {
        const off = bob.client.onNewChannel((ch) => {
          off();
          resolve(ch);
        });
      });
      const virtual = await alice.client.proposeChannel(
        virtualChannelProposal({
          challengeDuration: 60n,
          proposer: alice.participant.address,
          initBals: { assets: [w.asset], balances: [[5n, 5n]], locked: [] }, // [Alice, Bob]
          peers: [alice.identity.address, bob.identity.address],
          parents: [aliceI.id, bobI.id], // [proposer's, responder's] ledger channel with the hub
          // Per parent, virtual index → index in that parent: in Alice–Ingrid Alice is 0 and
          // Ingrid (standing in for Bob) 1; in Bob–Ingrid Bob is 0 and Ingrid (for Alice) 1.
          indexMaps: [
            [0, 1],
            [1, 0],
          ],
        }),
        { signal },
      );
      const bobsEnd = await bobsVirtual;
      expect(virtual.isVirtualChannel && bobsEnd.isVirtualChannel).toBe(true);
      expect(asked.length).toBe(1);
      expect(aliceI.state.allocation.balances).toEqual([[95n, 95n]]);
      expect(bobI.state.allocation.balances).toEqual([[95n, 95n]]);

      await virtual.update((s) => ({ ...s, allocation: transfer(s.allocation, 0, 1, [3n]) }), { signal });
      await bobsEnd.update((s) => ({ ...s, isFinal: true }), { signal });
      await Promise.all([virtual.settle({ signal }), bobsEnd.settle({ signal })]);

      // Alice paid 3 through Ingrid: Ingrid gained 3 from Alice and passed 3 on to Bob.
      expect(aliceI.state.allocation.balances).toEqual([[97n, 103n]]);
      expect(bobI.state.allocation.balances).toEqual([[103n, 97n]]);
      expect(ingrid.client.channel(virtual.id)).toBeUndefined(); // the hub's copy is gone too
    } finally {
      await closeAll([alice, bob, ingrid], w.bus);
    }
  });
});

// ------------------------------------------------------------------------------------------------
// Helpers of the examples above (variants of world().node()).
// ------------------------------------------------------------------------------------------------

function nodeWith(
  w: ReturnType<typeof world>,
  opts: { funder?: ConstructorParameters<typeof Client>[0]["funder"] },
): Node {
  const wallet = new SimWallet();
  const identity = wallet.newAccount();
  const participant = wallet.newAccount();
  const adjudicator = w.ledger.adjudicator();
  const watcher = new LocalWatcher({ adjudicator, account: participant });
  const client = new Client({
    identity,
    bus: w.bus,
    backend: w.backend,
    wallet,
    funder: opts.funder ?? w.ledger.funder(),
    adjudicator,
    watcher,
    apps: w.apps,
  });
  return { client, identity, participant, watcher };
}

function nodeWithIdentity(w: ReturnType<typeof world>, identity: SimAccount, bus: Bus): Node {
  const wallet = new SimWallet();
  const participant = wallet.newAccount();
  const adjudicator = w.ledger.adjudicator();
  const watcher = new LocalWatcher({ adjudicator, account: participant });
  const client = new Client({
    identity,
    bus,
    backend: w.backend,
    wallet,
    funder: w.ledger.funder(),
    adjudicator,
    watcher,
    apps: w.apps,
  });
  return { client, identity, participant, watcher };
}

/** A node whose keys already exist (e.g. after a restart: same wallet, same accounts). */
function nodeWithKeys(
  w: ReturnType<typeof world>,
  keys: { wallet: SimWallet; identity: SimAccount; participant: SimAccount },
  persister: PersistRestorer,
): Node {
  const { wallet, identity, participant } = keys;
  const adjudicator = w.ledger.adjudicator();
  const watcher = new LocalWatcher({ adjudicator, account: participant });
  const client = new Client({
    identity,
    bus: w.bus,
    backend: w.backend,
    wallet,
    funder: w.ledger.funder(),
    adjudicator,
    watcher,
    apps: w.apps,
    persister,
  });
  return { client, identity, participant, watcher };
}

async function waitUntil(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
}

/**
 * `LevelPersistRestorer.open` from @perun-ts/persistence-level. @perun-ts/testing does not depend
 * on that package, so `tsc` cannot see its types here; vitest resolves it from the workspace. The
 * local type below is the subset the guide uses; the call runs against the real implementation.
 */
async function openLevel(location: string, ctx: DecodeContext): Promise<PersistRestorer> {
  const specifier = "@perun-ts/persistence-level";
  const mod = (await import(/* @vite-ignore */ specifier)) as {
    LevelPersistRestorer: {
      open(location: string, opts: DecodeContext & { durable?: boolean }): Promise<PersistRestorer>;
    };
  };
  return mod.LevelPersistRestorer.open(location, { ...ctx, durable: true });
}

// ------------------------------------------------------------------------------------------------
// backend-guide.md §6 "Run the conformance suites": the example file, instantiated with
// backend-sim. Replace the Sim* classes with your own; everything else stays as it is.
// ------------------------------------------------------------------------------------------------

const backend = new SimChannelBackend();
const address = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => backend.decodeAddress(b));
const asset = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((id) => new SimAsset(id));

// 1. ChannelBackend: ids, signatures, decoders.
channelBackendSuite({
  name: "docs example: channel backend",
  backend,
  newAccount: () => SimAccount.random(),
  address,
  asset,
  numRuns: 3,
  parallelSignatures: 16,
  // fieldsBoundById: ["app"],  // if your signed encoding omits fields that the channel id binds
});

// 2. Wallet: unlock, sign through the unlocked account, usage counting.
const wallet = new SimWallet();
const held = wallet.newAccount();
walletSuite({
  name: "docs example: wallet",
  wallet,
  backend,
  addressInWallet: () => held.address,
  unknownAddress: SimAccount.random().address,
  address,
  asset,
  usageCount: (a) => wallet.usageCount(a),
  numRuns: 2,
});

// 3. Funder + Adjudicator: the on-chain rules of spec-eth §3, driven through the core interfaces.
ledgerConformanceSuite({
  name: "docs example: ledger conformance",
  async create() {
    const clock = new ManualClock(1_000_000n);
    const ledger = new SimLedger({ backend, clock, initialBalance: 1_000n });
    const accounts = [SimAccount.random(), SimAccount.random(), SimAccount.random()];
    const assets = [new SimAsset(1n), new SimAsset(2n)];
    return {
      backend,
      assets,
      parties: accounts.map((account) => ({
        account,
        funder: ledger.funder(),
        adjudicator: ledger.adjudicator(),
      })),
      app: new TrivialApp(SimAccount.random().address), // on a real chain: a deployed app that accepts all
      advanceTime: async (seconds) => clock.advance(seconds), // on a real chain: move time and mine
      balanceOf: async (party, a) =>
        ledger.balanceOf((accounts[party] as SimAccount).address, assets[a] as SimAsset),
    };
  },
});

// 4. A Persister/Restorer (only if you write one): 4 peers × channelsPerPeer random channels.
persistRestorerSuite({
  name: "docs example: persist-restorer",
  create: () => new MemoryPersistRestorer(),
  channelsPerPeer: 2,
});

// 5. A Bus (only if you write a transport). Framework-agnostic: pass vitest's describe and it.
busSuite({ describe, it }, "docs example: bus", {
  async createEnvironment(n) {
    const apps = new AppRegistry();
    const bus = new LocalBus({ codec: new EnvelopeCodec({ backend, apps }) });
    return {
      clients: Array.from({ length: n }, () => ({ address: SimAccount.random().address, bus })),
      codec: new EnvelopeCodec({ backend, apps }),
      cleanup: () => bus.close(),
    };
  },
  numMessages: 2,
});

// 6. The client end to end on your backend: the role-based scenarios of go-perun's test suite.
const scenarioSetup: ScenarioSetup = {
  name: "docs example: sim over serializing LocalBus",
  backend,
  challengeDuration: 60n,
  newWallet() {
    const w = new SimWallet();
    return { wallet: w, newAccount: async () => w.newAccount() };
  },
  async newLedger() {
    const clock = new ManualClock(1_000n);
    const ledger = new SimLedger({ backend, clock });
    const scenarioAsset = new SimAsset(1n);
    return {
      asset: scenarioAsset,
      funder: () => ledger.funder(),
      adjudicator: () => ledger.adjudicator(),
      mint: async (a, amount) => ledger.mint(a, scenarioAsset, amount),
      balanceOf: async (a) => ledger.balanceOf(a, scenarioAsset),
      advanceTime: async (seconds) => clock.advance(seconds),
      close: async () => {},
    };
  },
  newNetwork: (apps) => serializingLocalNetwork(apps, backend),
  newAppDef: async () => SimAccount.random().address,
};
describeClientScenarios(scenarioSetup);
