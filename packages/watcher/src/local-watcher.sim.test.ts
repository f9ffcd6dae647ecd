// Watcher scenarios of spec §9.2 (`Test_StartWatching`, `Test_Watcher_Working`,
// `Test_Watcher_StopWatching`) on the SimLedger with real sim signatures.

import { ManualClock, type SimAdjudicator, SimLedger, SimWallet } from "@perun-ts/backend-sim";
import {
  type Adjudicator,
  type AdjudicatorEvent,
  type AdjudicatorReq,
  channelIdEquals,
  PaymentApp,
  type SignedState,
  transfer,
} from "@perun-ts/core";
import { describe, expect, it, vi } from "vitest";
import { backend, ChannelFactory, participants, type TestChannel } from "./channels.test-helper.js";
import { SubChannelsPresentError } from "./errors.js";
import { LocalWatcher, type LocalWatchHandle } from "./local-watcher.js";

const [mallory, carol] = participants("mallory-carol") as [
  ReturnType<typeof participants>[number],
  ReturnType<typeof participants>[number],
];
const factory = new ChannelFactory([mallory, carol]);

interface RegisterCall {
  readonly req: AdjudicatorReq;
  readonly subStates: readonly SignedState[];
}

/** Carol's adjudicator: the SimLedger view, recording (and optionally holding back) every register. */
class ObservedAdjudicator implements Adjudicator {
  readonly calls: RegisterCall[] = [];
  gate: Promise<void> | undefined;
  constructor(readonly inner: SimAdjudicator) {}
  async register(req: AdjudicatorReq, subStates: readonly SignedState[], opts?: { signal?: AbortSignal }) {
    this.calls.push({ req, subStates });
    if (this.gate) await this.gate;
    return this.inner.register(req, subStates, opts);
  }
  progress: Adjudicator["progress"] = (req, opts) => this.inner.progress(req, opts);
  withdraw: Adjudicator["withdraw"] = (req, subs, opts) => this.inner.withdraw(req, subs, opts);
  subscribe: Adjudicator["subscribe"] = (id, opts) => this.inner.subscribe(id, opts);
}

function setup() {
  const clock = new ManualClock(1_000n);
  const ledger = new SimLedger({ backend, clock });
  const adjudicator = new ObservedAdjudicator(ledger.adjudicator());
  const watcher = new LocalWatcher({ adjudicator, account: carol, retryDelayMs: 1 });
  return { clock, ledger, adjudicator, watcher };
}

function collect(handle: LocalWatchHandle) {
  const events: AdjudicatorEvent[] = [];
  const done = (async () => {
    for await (const e of handle.events) events.push(e);
  })();
  return { events, done };
}

/** Opens a ledger channel watched by Carol and makes `payments` payments of 20 from Mallory. */
async function paidChannel(watcher: LocalWatcher, payments: number) {
  const ch = await factory.ledger([100n, 1n]);
  const handle = await watcher.startWatchingLedgerChannel(ch.current);
  for (let i = 0; i < payments; i++) await handle.publish(await factory.pay(ch, 0, 20n));
  return { ch, handle, events: collect(handle) };
}

const versions = (events: readonly AdjudicatorEvent[]) => events.map((e) => e.version);

describe("Test_Watcher_Working on SimLedger", () => {
  it("latest state registered ⇒ no refutation", async () => {
    const { ledger, adjudicator, watcher } = setup();
    const { ch, events } = await paidChannel(watcher, 3);
    await ledger.register(ch.current, []);
    await vi.waitFor(() => expect(versions(events.events)).toEqual([3n]));
    await watcher.idle();
    expect(adjudicator.calls).toHaveLength(0);
    expect(ledger.dispute(ch.params.id)?.version).toBe(3n);
    await watcher.close();
    await events.done;
  });

  it("newer state than the latest published registered ⇒ no refutation", async () => {
    const { ledger, adjudicator, watcher } = setup();
    const { ch, events } = await paidChannel(watcher, 2);
    const unpublished = await factory.pay(ch, 0, 20n);
    await ledger.register(unpublished, []);
    await vi.waitFor(() => expect(versions(events.events)).toEqual([3n]));
    await watcher.idle();
    expect(adjudicator.calls).toHaveLength(0);
    expect(ledger.dispute(ch.params.id)?.version).toBe(3n);
    await watcher.close();
  });

  it("Mallory registers the stale v0 ⇒ Carol's watcher refutes once with the latest state", async () => {
    const { clock, ledger, adjudicator, watcher } = setup();
    const { ch, events } = await paidChannel(watcher, 5);
    await ledger.register(ch.history[0]!, []);
    const timeout = ledger.dispute(ch.params.id)!.timeout;
    await vi.waitFor(() => expect(versions(events.events)).toEqual([0n, 5n]));
    await watcher.idle();
    expect(adjudicator.calls).toHaveLength(1);
    expect(adjudicator.calls[0]!.req.tx.state).toEqual(ch.current.state);
    expect(adjudicator.calls[0]!.req.idx).toBe(1); // Carol's index
    const dispute = ledger.dispute(ch.params.id)!;
    expect(dispute.version).toBe(5n);
    expect(dispute.state.allocation.balances).toEqual([[0n, 101n]]);
    expect(dispute.timeout).toBe(timeout); // a refutation does not extend the window
    // Mallory cannot conclude with her stale state; the latest one concludes after the window
    clock.advance(60n);
    await expect(ledger.conclude(ch.params, ch.history[0]!.state, [])).rejects.toThrow(
      /invalid channel state/,
    );
    await ledger.conclude(ch.params, ch.current.state, []);
    await vi.waitFor(() =>
      expect(events.events.map((e) => e.type)).toEqual(["registered", "registered", "concluded"]),
    );
    await watcher.close();
    await events.done;
  });

  it("refutes a stale registration that happened before watching started (window still open)", async () => {
    const { ledger, adjudicator, watcher } = setup();
    const ch = await factory.ledger([100n, 1n]);
    await factory.pay(ch, 0, 20n);
    await ledger.register(ch.history[0]!, []);
    const handle = await watcher.startWatchingLedgerChannel(ch.current);
    const events = collect(handle);
    await vi.waitFor(() => expect(versions(events.events)).toEqual([0n, 1n]));
    await watcher.idle();
    expect(adjudicator.calls).toHaveLength(1);
    expect(ledger.dispute(ch.params.id)?.version).toBe(1n);
    await watcher.close();
  });

  it("gives up (logged) when the refutation window has already closed", async () => {
    const { clock, ledger, adjudicator, watcher } = setup();
    const ch = await factory.ledger([100n, 1n]);
    await factory.pay(ch, 0, 20n);
    await ledger.register(ch.history[0]!, []);
    clock.advance(61n);
    const handle = await watcher.startWatchingLedgerChannel(ch.current);
    const events = collect(handle);
    await vi.waitFor(() => expect(versions(events.events)).toEqual([0n]));
    await watcher.idle();
    expect(adjudicator.calls).toHaveLength(1); // one attempt, rejected by the ledger, no retry loop
    expect(ledger.dispute(ch.params.id)?.version).toBe(0n);
    await watcher.close();
  });

  it("older state registered, then a newer state published ⇒ the newest state ends up registered", async () => {
    const { ledger, adjudicator, watcher } = setup();
    const { ch, handle, events } = await paidChannel(watcher, 1);
    let release = () => {};
    adjudicator.gate = new Promise<void>((r) => {
      release = r;
    });
    await ledger.register(ch.history[0]!, []);
    await vi.waitFor(() => expect(adjudicator.calls).toHaveLength(1)); // refutation with v1 in flight …
    await handle.publish(await factory.pay(ch, 0, 20n)); // … when v2 is published
    adjudicator.gate = undefined;
    release();
    await vi.waitFor(() => expect(versions(events.events)).toEqual([0n, 1n, 2n]));
    await watcher.idle();
    expect(adjudicator.calls.map((c) => c.req.tx.state?.version)).toEqual([1n, 2n]);
    expect(ledger.dispute(ch.params.id)?.version).toBe(2n);
    await watcher.close();
  });

  it("relays progressed and concluded events of an app channel without refuting", async () => {
    const { clock, ledger, adjudicator, watcher } = setup();
    const app = new PaymentApp(SimWallet.fromSeed("payment-app").newAccount().address);
    const ch = await factory.ledger([50n, 50n], app);
    const handle = await watcher.startWatchingLedgerChannel(ch.current);
    const events = collect(handle);
    await handle.publish(await factory.pay(ch, 1, 5n));
    await ledger.register(ch.current, []);
    clock.advance(60n);
    const next = await factory.progression(ch, 0, (a) => transfer(a, 0, 1, [10n]));
    await ledger.progress(ch.params, ch.current.state, next.state, 0, next.sig);
    clock.advance(60n);
    await ledger.conclude(ch.params, next.state, []);
    await vi.waitFor(() => expect(events.events).toHaveLength(3));
    expect(events.events.map((e) => [e.type, e.version])).toEqual([
      ["registered", 1n],
      ["progressed", 2n],
      ["concluded", 2n],
    ]);
    const progressed = events.events[1]!;
    expect(progressed.type === "progressed" && progressed.actorIdx).toBe(0);
    await watcher.idle();
    expect(adjudicator.calls).toHaveLength(0);
    await watcher.close();
    await events.done;
  });
});

describe("Test_Watcher_Working with sub-channels on SimLedger", () => {
  async function tree(watcher: LocalWatcher) {
    const root = await factory.ledger([100n, 100n]);
    const sub1 = await factory.child(root, [10n, 10n]);
    const sub2 = await factory.child(root, [5n, 5n]);
    const subsub = await factory.child(sub1, [3n, 3n]);
    const channels: Record<string, TestChannel> = { root, sub1, sub2, subsub };
    const handles: Record<string, LocalWatchHandle> = {
      root: await watcher.startWatchingLedgerChannel(root.current),
    };
    handles.sub1 = await watcher.startWatchingSubChannel(root.params.id, sub1.current);
    handles.sub2 = await watcher.startWatchingSubChannel(root.params.id, sub2.current);
    handles.subsub = await watcher.startWatchingSubChannel(sub1.params.id, subsub.current);
    // one transfer in every channel, published to the watcher
    for (const name of ["subsub", "sub1", "sub2", "root"]) {
      await handles[name]!.publish(await factory.pay(channels[name]!, 1, 1n));
    }
    return { root, sub1, sub2, subsub, handles };
  }

  it("stale sub-state registered with the current ledger state ⇒ refuted with the latest sub-state", async () => {
    const { ledger, adjudicator, watcher } = setup();
    const root = await factory.ledger([100n, 100n]);
    const sub = await factory.child(root, [10n, 10n]);
    const hRoot = await watcher.startWatchingLedgerChannel(root.current);
    const hSub = await watcher.startWatchingSubChannel(root.params.id, sub.current);
    const rootEvents = collect(hRoot);
    const subEvents = collect(hSub);
    await hSub.publish(await factory.pay(sub, 0, 2n));
    await hRoot.publish(await factory.pay(root, 1, 7n));
    await ledger.register(root.current, [sub.history[0]!]); // Susie: stale sub-state
    await vi.waitFor(() => expect(versions(subEvents.events)).toEqual([0n, 1n]));
    await watcher.idle();
    expect(adjudicator.calls).toHaveLength(1);
    expect(adjudicator.calls[0]!.subStates).toEqual([sub.current]);
    expect(versions(rootEvents.events)).toEqual([root.current.state.version]);
    expect(ledger.dispute(sub.params.id)?.version).toBe(1n);
    await watcher.close();
  });

  it("stale ledger state ⇒ the whole tree is registered with the newest states, sub-sub-channels included", async () => {
    const { ledger, adjudicator, watcher } = setup();
    const t = await tree(watcher);
    await ledger.register(t.root.history[0]!, []); // v0 locks nothing
    await vi.waitFor(() => expect(ledger.dispute(t.subsub.params.id)?.version).toBe(1n));
    await watcher.idle();
    expect(adjudicator.calls).toHaveLength(1);
    const ids = adjudicator.calls[0]!.subStates.map((s) => s.params.id);
    expect(ids).toEqual([t.sub1.params.id, t.subsub.params.id, t.sub2.params.id]);
    for (const ch of [t.root, t.sub1, t.sub2, t.subsub]) {
      expect(ledger.dispute(ch.params.id)?.version).toBe(ch.current.state.version);
    }
    await watcher.close();
  });

  it("stale sub-sub-channel state ⇒ refuted (go-perun only watches one level)", async () => {
    const { ledger, adjudicator, watcher } = setup();
    const t = await tree(watcher);
    const subsubEvents = collect(t.handles.subsub!);
    await ledger.register(t.root.current, [t.sub1.current, t.subsub.history[0]!, t.sub2.current]);
    await vi.waitFor(() => expect(versions(subsubEvents.events)).toEqual([0n, 1n]));
    await watcher.idle();
    expect(adjudicator.calls).toHaveLength(1);
    expect(ledger.dispute(t.subsub.params.id)?.version).toBe(1n);
    expect(ledger.dispute(t.sub1.params.id)?.version).toBe(t.sub1.current.state.version);
    await watcher.close();
  });

  it("a stopped sub-channel still locked in its parent is refuted along with the tree", async () => {
    const { ledger, adjudicator, watcher } = setup();
    const root = await factory.ledger([100n, 100n]);
    const sub = await factory.child(root, [10n, 10n]);
    await watcher.startWatchingLedgerChannel(root.current);
    const hSub = await watcher.startWatchingSubChannel(root.params.id, sub.current);
    await hSub.publish(await factory.pay(sub, 0, 4n));
    await watcher.stopWatching(sub.params.id);
    await ledger.register(root.current, [sub.history[0]!]);
    await vi.waitFor(() => expect(ledger.dispute(sub.params.id)?.version).toBe(1n));
    await watcher.idle();
    expect(adjudicator.calls).toHaveLength(1);
    await watcher.close();
  });
});

describe("Test_StartWatching / Test_Watcher_StopWatching on SimLedger", () => {
  it("start and stop rules, with every ledger subscription released", async () => {
    const { ledger, watcher } = setup();
    const root = await factory.ledger();
    const sub = await factory.child(root, [1n, 1n]);
    const subsub = await factory.child(sub, [1n, 0n]);
    await watcher.startWatchingLedgerChannel(root.current);
    await watcher.startWatchingSubChannel(root.params.id, sub.current);
    await watcher.startWatchingSubChannel(sub.params.id, subsub.current); // deeper than go-perun allows
    expect(ledger.subscriptionCount).toBe(3);
    await expect(watcher.stopWatching(sub.params.id)).rejects.toBeInstanceOf(SubChannelsPresentError);
    await watcher.stopWatching(subsub.params.id);
    await watcher.stopWatching(sub.params.id);
    // both are still locked by their parents: kept (archived) for refutations until the root stops
    expect(ledger.subscriptionCount).toBe(3);
    await watcher.stopWatching(root.params.id);
    expect(ledger.subscriptionCount).toBe(0);
  });

  it("stopping a disputed tree child-first ends every event stream", async () => {
    const { ledger, watcher } = setup();
    const root = await factory.ledger();
    const sub = await factory.child(root, [2n, 2n]);
    const hRoot = await watcher.startWatchingLedgerChannel(root.current);
    const hSub = await watcher.startWatchingSubChannel(root.params.id, sub.current);
    const rootEvents = collect(hRoot);
    const subEvents = collect(hSub);
    await ledger.register(root.current, [sub.current]);
    await vi.waitFor(() => expect(subEvents.events).toHaveLength(1));
    await watcher.stopWatching(sub.params.id);
    await subEvents.done;
    await watcher.stopWatching(root.params.id);
    await rootEvents.done;
    expect(channelIdEquals(rootEvents.events[0]!.id, root.params.id)).toBe(true);
    expect(ledger.subscriptionCount).toBe(0);
  });
});
