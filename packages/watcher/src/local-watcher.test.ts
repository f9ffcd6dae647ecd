import {
  AbortError,
  type AdjudicatorEvent,
  type ConcludedEvent,
  channelIdEquals,
  type ProgressedEvent,
  type SignedState,
  ValidationError,
  withoutSubAlloc,
} from "@perun-ts/core";
import { describe, expect, it, vi } from "vitest";
import { ChannelFactory, participants } from "./channels.test-helper.js";
import {
  AlreadyWatchingError,
  NotWatchingError,
  SubChannelsPresentError,
  WatcherClosedError,
} from "./errors.js";
import { LocalWatcher, type LocalWatchHandle } from "./local-watcher.js";
import { ManualTimeout, RecordingAdjudicator } from "./recording-adjudicator.test-helper.js";

const accounts = participants();
const factory = new ChannelFactory(accounts);

function setup(opts: { eventBufferSize?: number } = {}) {
  const adjudicator = new RecordingAdjudicator();
  const watcher = new LocalWatcher({ adjudicator, account: accounts[0]!, retryDelayMs: 1, ...opts });
  return { adjudicator, watcher };
}

/** Consumes a handle's events in the background. */
function collect(handle: LocalWatchHandle) {
  const events: AdjudicatorEvent[] = [];
  const done = (async () => {
    for await (const e of handle.events) events.push(e);
  })();
  return { events, done };
}

function versionsOf(states: readonly SignedState[]): bigint[] {
  return states.map((s) => s.state.version);
}

/** A ledger channel with two children; child 1 has a child of its own (depth 2). */
async function deepTree() {
  const root = await factory.ledger();
  const sub1 = await factory.child(root, [10n, 10n]);
  const sub2 = await factory.child(root, [5n, 5n]);
  const subsub = await factory.child(sub1, [3n, 3n]);
  return { root, sub1, sub2, subsub };
}

async function watchTree(watcher: LocalWatcher, t: Awaited<ReturnType<typeof deepTree>>) {
  const root = await watcher.startWatchingLedgerChannel(t.root.current);
  const sub1 = await watcher.startWatchingSubChannel(t.root.params.id, t.sub1.current);
  const sub2 = await watcher.startWatchingSubChannel(t.root.params.id, t.sub2.current);
  const subsub = await watcher.startWatchingSubChannel(t.sub1.params.id, t.subsub.current);
  return { root, sub1, sub2, subsub };
}

describe("LocalWatcher start", () => {
  it("watches a ledger channel, a sub-channel and a sub-sub-channel, each with its own subscription", async () => {
    const { adjudicator, watcher } = setup();
    const t = await deepTree();
    await watchTree(watcher, t);
    for (const ch of [t.root, t.sub1, t.sub2, t.subsub])
      expect(adjudicator.openSubscriptions(ch.params.id)).toBe(1);
    await watcher.close();
    expect(adjudicator.openSubscriptions()).toBe(0);
  });

  it("refuses a duplicate start, also while the first start is still subscribing", async () => {
    const { adjudicator, watcher } = setup();
    const ch = await factory.ledger();
    const first = watcher.startWatchingLedgerChannel(ch.current);
    await expect(watcher.startWatchingLedgerChannel(ch.current)).rejects.toBeInstanceOf(AlreadyWatchingError);
    await first;
    await expect(watcher.startWatchingLedgerChannel(ch.current)).rejects.toBeInstanceOf(AlreadyWatchingError);
    expect(adjudicator.openSubscriptions(ch.params.id)).toBe(1);
    await watcher.close();
  });

  it("refuses a sub-channel whose parent is not watched", async () => {
    const { adjudicator, watcher } = setup();
    const root = await factory.ledger();
    const sub = await factory.child(root, [1n, 1n]);
    const err = await watcher.startWatchingSubChannel(root.params.id, sub.current).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotWatchingError);
    expect((err as NotWatchingError).role).toBe("parent");
    expect(adjudicator.openSubscriptions()).toBe(0);
  });

  it("refuses a sub-channel whose parent stopped while the sub-channel was subscribing", async () => {
    const { adjudicator, watcher } = setup();
    const root = await factory.ledger();
    const sub = await factory.child(root, [1n, 1n]);
    await watcher.startWatchingLedgerChannel(root.current);
    const starting = watcher.startWatchingSubChannel(root.params.id, sub.current);
    await watcher.stopWatching(root.params.id);
    await expect(starting).rejects.toBeInstanceOf(NotWatchingError);
    expect(adjudicator.openSubscriptions()).toBe(0);
  });

  it("rejects malformed signed states with ValidationError", async () => {
    const { watcher } = setup();
    const a = await factory.ledger();
    const b = await factory.ledger();
    await expect(
      watcher.startWatchingLedgerChannel({ ...a.current, params: b.params }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      watcher.startWatchingLedgerChannel({ ...a.current, sigs: a.current.sigs.slice(1) }),
    ).rejects.toBeInstanceOf(ValidationError);
    const sub = await factory.child(a, [1n, 1n]);
    await expect(watcher.startWatchingLedgerChannel(sub.current)).rejects.toBeInstanceOf(ValidationError);
    await watcher.startWatchingLedgerChannel(a.current);
    await expect(watcher.startWatchingSubChannel(a.params.id, b.current)).rejects.toBeInstanceOf(
      ValidationError,
    );
    await watcher.close();
  });

  it("honours an aborted signal and leaves no subscription behind", async () => {
    const { adjudicator, watcher } = setup();
    const ch = await factory.ledger();
    const ctl = new AbortController();
    ctl.abort("test");
    await expect(
      watcher.startWatchingLedgerChannel(ch.current, { signal: ctl.signal }),
    ).rejects.toBeInstanceOf(AbortError);
    const late = new AbortController();
    const starting = watcher.startWatchingLedgerChannel(ch.current, { signal: late.signal });
    late.abort("test");
    await expect(starting).rejects.toBeInstanceOf(AbortError);
    expect(adjudicator.openSubscriptions()).toBe(0);
    // the id is free again
    await watcher.startWatchingLedgerChannel(ch.current);
    await watcher.close();
  });

  it("refuses everything after close", async () => {
    const { watcher } = setup();
    const ch = await factory.ledger();
    const handle = await watcher.startWatchingLedgerChannel(ch.current);
    await watcher.close();
    await expect(watcher.startWatchingLedgerChannel(ch.current)).rejects.toBeInstanceOf(WatcherClosedError);
    await expect(handle.publish(await factory.pay(ch, 0, 1n))).rejects.toBeInstanceOf(NotWatchingError);
  });
});

describe("LocalWatcher stop", () => {
  it("throws NotWatchingError for an unknown channel and for a second stop", async () => {
    const { watcher } = setup();
    const ch = await factory.ledger();
    await expect(watcher.stopWatching(ch.params.id)).rejects.toBeInstanceOf(NotWatchingError);
    await watcher.startWatchingLedgerChannel(ch.current);
    await watcher.stopWatching(ch.params.id);
    await expect(watcher.stopWatching(ch.params.id)).rejects.toBeInstanceOf(NotWatchingError);
  });

  it("lets exactly one of two concurrent stops succeed", async () => {
    const { adjudicator, watcher } = setup();
    const ch = await factory.ledger();
    await watcher.startWatchingLedgerChannel(ch.current);
    const results = await Promise.allSettled([
      watcher.stopWatching(ch.params.id),
      watcher.stopWatching(ch.params.id),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const failed = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(failed.reason).toBeInstanceOf(NotWatchingError);
    expect(adjudicator.openSubscriptions()).toBe(0);
  });

  it("refuses to stop a parent with live children; children first works at every depth", async () => {
    const { adjudicator, watcher } = setup();
    const t = await deepTree();
    await watchTree(watcher, t);
    const err = await watcher.stopWatching(t.root.params.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SubChannelsPresentError);
    expect((err as SubChannelsPresentError).children).toHaveLength(2);
    await expect(watcher.stopWatching(t.sub1.params.id)).rejects.toBeInstanceOf(SubChannelsPresentError);
    await watcher.stopWatching(t.subsub.params.id);
    await watcher.stopWatching(t.sub1.params.id);
    await watcher.stopWatching(t.sub2.params.id);
    await watcher.stopWatching(t.root.params.id);
    expect(adjudicator.openSubscriptions()).toBe(0);
  });

  it("ends the event stream after delivering buffered events, and refuses publish afterwards", async () => {
    const { adjudicator, watcher } = setup();
    const ch = await factory.ledger();
    const handle = await watcher.startWatchingLedgerChannel(ch.current);
    adjudicator.emit(adjudicator.registered(ch.current.state));
    await vi.waitFor(() => expect(adjudicator.openSubscriptions(ch.params.id)).toBe(1));
    const c = collect(handle);
    await vi.waitFor(() => expect(c.events).toHaveLength(1));
    await watcher.stopWatching(ch.params.id);
    await c.done;
    expect(c.events.map((e) => e.type)).toEqual(["registered"]);
    await expect(handle.publish(await factory.pay(ch, 0, 1n))).rejects.toBeInstanceOf(NotWatchingError);
  });

  it("a sub-channel can be watched again after it was stopped", async () => {
    const { adjudicator, watcher } = setup();
    const root = await factory.ledger();
    const sub = await factory.child(root, [4n, 4n]);
    await watcher.startWatchingLedgerChannel(root.current);
    await watcher.startWatchingSubChannel(root.params.id, sub.current);
    await watcher.stopWatching(sub.params.id);
    await watcher.startWatchingSubChannel(root.params.id, sub.current);
    expect(adjudicator.openSubscriptions(sub.params.id)).toBe(1);
    await expect(watcher.stopWatching(root.params.id)).rejects.toBeInstanceOf(SubChannelsPresentError);
    await watcher.close();
  });
});

describe("LocalWatcher publish", () => {
  it("rejects older versions, foreign states and missing signatures with ValidationError", async () => {
    const { watcher } = setup();
    const ch = await factory.ledger();
    const other = await factory.ledger();
    const handle = await watcher.startWatchingLedgerChannel(ch.current);
    const v1 = await factory.pay(ch, 0, 1n);
    await handle.publish(v1);
    await handle.publish(v1); // same version again is fine
    await expect(handle.publish(ch.history[0]!)).rejects.toBeInstanceOf(ValidationError);
    await expect(handle.publish(other.current)).rejects.toBeInstanceOf(ValidationError);
    await expect(handle.publish({ state: v1.state, sigs: [v1.sigs[0], undefined] })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(handle.publish({ state: undefined, sigs: [] })).rejects.toBeInstanceOf(ValidationError);
    await watcher.close();
  });
});

describe("LocalWatcher refutation", () => {
  it("does not refute when the latest or a newer state is registered", async () => {
    const { adjudicator, watcher } = setup();
    const ch = await factory.ledger();
    const handle = await watcher.startWatchingLedgerChannel(ch.current);
    const c = collect(handle);
    await handle.publish(await factory.pay(ch, 0, 5n));
    adjudicator.emit(adjudicator.registered(ch.current.state));
    const newer = await factory.pay(ch, 0, 5n); // not published to the watcher
    adjudicator.emit(adjudicator.registered(newer.state));
    await vi.waitFor(() => expect(c.events).toHaveLength(2));
    await watcher.close();
    await c.done;
    expect(adjudicator.registers).toHaveLength(0);
  });

  it("refutes an older registration once, with the latest state", async () => {
    const { adjudicator, watcher } = setup();
    const ch = await factory.ledger();
    const handle = await watcher.startWatchingLedgerChannel(ch.current);
    const c = collect(handle);
    for (let i = 0; i < 3; i++) await handle.publish(await factory.pay(ch, 1, 1n));
    adjudicator.emit(adjudicator.registered(ch.history[0]!.state));
    // stale v0, then the refutation's own event (v3)
    await vi.waitFor(() => expect(c.events.map((e) => e.version)).toEqual([0n, 3n]));
    // a replay of the stale event is older than what the watcher registered: no second refutation
    adjudicator.emit(adjudicator.registered(ch.history[0]!.state));
    await vi.waitFor(() => expect(c.events).toHaveLength(3));
    await watcher.close();
    expect(adjudicator.registers).toHaveLength(1);
    const call = adjudicator.registers[0]!;
    expect(call.req.tx.state?.version).toBe(3n);
    expect(call.req.tx.sigs).toEqual(ch.current.sigs);
    expect(call.req.secondary).toBe(false);
    expect(call.req.idx).toBe(0);
    expect(call.subStates).toEqual([]);
  });

  it("refutes with every descendant's latest state in DFS pre-order, at any depth", async () => {
    const { adjudicator, watcher } = setup();
    const t = await deepTree();
    const h = await watchTree(watcher, t);
    await h.subsub.publish(await factory.pay(t.subsub, 0, 1n));
    await h.sub2.publish(await factory.pay(t.sub2, 1, 2n));
    adjudicator.emit(adjudicator.registered(t.root.history[0]!.state));
    await vi.waitFor(() => expect(adjudicator.registers).toHaveLength(1));
    const call = adjudicator.registers[0]!;
    expect(call.req.tx.state).toEqual(t.root.current.state);
    const ids = call.subStates.map((s) => s.params.id);
    expect(ids).toEqual([t.sub1.params.id, t.subsub.params.id, t.sub2.params.id]);
    expect(versionsOf(call.subStates)).toEqual([
      t.sub1.current.state.version,
      t.subsub.current.state.version,
      t.sub2.current.state.version,
    ]);
    expect(call.subStates.map((s) => s.sigs)).toEqual([
      t.sub1.current.sigs,
      t.subsub.current.sigs,
      t.sub2.current.sigs,
    ]);
    await watcher.close();
  });

  it("refutes a stale sub-sub-channel state registered together with a current root", async () => {
    const { adjudicator, watcher } = setup();
    const t = await deepTree();
    const h = await watchTree(watcher, t);
    const subsubEvents = collect(h.subsub);
    await h.subsub.publish(await factory.pay(t.subsub, 0, 2n));
    adjudicator.emit(adjudicator.registered(t.root.current.state)); // root is current
    adjudicator.emit(adjudicator.registered(t.subsub.history[0]!.state)); // sub-sub is stale
    await vi.waitFor(() => expect(adjudicator.registers).toHaveLength(1));
    const subs = adjudicator.registers[0]!.subStates;
    expect(subs.find((s) => channelIdEquals(s.params.id, t.subsub.params.id))?.state.version).toBe(1n);
    await vi.waitFor(() => expect(subsubEvents.events.map((e) => e.version)).toEqual([0n, 1n]));
    await watcher.close();
    expect(adjudicator.registers).toHaveLength(1);
  });

  it("uses the newest state when one was published after the stale registration", async () => {
    const { adjudicator, watcher } = setup();
    const ch = await factory.ledger();
    const handle = await watcher.startWatchingLedgerChannel(ch.current);
    const c = collect(handle);
    await handle.publish(await factory.pay(ch, 0, 1n));
    let release = () => {};
    adjudicator.gate = new Promise<void>((r) => {
      release = r;
    });
    adjudicator.emit(adjudicator.registered(ch.history[0]!.state));
    await vi.waitFor(() => expect(adjudicator.registers).toHaveLength(1)); // refuting with v1 …
    await handle.publish(await factory.pay(ch, 0, 1n)); // … when v2 is published
    adjudicator.gate = undefined;
    release();
    // the chain now holds v1 < v2: the watcher refutes again, with v2, and then stops
    await vi.waitFor(() => expect(c.events.map((e) => e.version)).toEqual([0n, 1n, 2n]));
    expect(adjudicator.registers.map((r) => r.req.tx.state?.version)).toEqual([1n, 2n]);
    await watcher.close();
  });

  it("retries a failed refutation until it succeeds while the window is open", async () => {
    const { adjudicator, watcher } = setup();
    const ch = await factory.ledger();
    const handle = await watcher.startWatchingLedgerChannel(ch.current);
    await handle.publish(await factory.pay(ch, 0, 1n));
    adjudicator.failRegisters = 3;
    adjudicator.emit(adjudicator.registered(ch.history[0]!.state));
    await vi.waitFor(() => expect(adjudicator.registers).toHaveLength(4));
    await watcher.close();
    expect(adjudicator.registers).toHaveLength(4);
  });

  it("stops retrying when the refutation window closes", async () => {
    const { adjudicator, watcher } = setup();
    const ch = await factory.ledger();
    const handle = await watcher.startWatchingLedgerChannel(ch.current);
    await handle.publish(await factory.pay(ch, 0, 1n));
    adjudicator.failRegisters = 1000;
    const timeout = new ManualTimeout();
    adjudicator.emit(adjudicator.registered(ch.history[0]!.state, timeout));
    await vi.waitFor(() => expect(adjudicator.registers.length).toBeGreaterThanOrEqual(2));
    timeout.elapsed = true;
    const attempts = await vi.waitFor(async () => {
      const n = adjudicator.registers.length;
      await new Promise((r) => setTimeout(r, 30));
      expect(adjudicator.registers.length).toBe(n);
      return n;
    });
    await watcher.close();
    expect(adjudicator.registers).toHaveLength(attempts);
  });

  it("stops retrying once someone else registered the latest state", async () => {
    const { adjudicator, watcher } = setup();
    const ch = await factory.ledger();
    const handle = await watcher.startWatchingLedgerChannel(ch.current);
    await handle.publish(await factory.pay(ch, 0, 1n));
    adjudicator.failRegisters = 1000;
    adjudicator.emit(adjudicator.registered(ch.history[0]!.state));
    await vi.waitFor(() => expect(adjudicator.registers.length).toBeGreaterThanOrEqual(1));
    adjudicator.emit(adjudicator.registered(ch.current.state));
    const attempts = await vi.waitFor(async () => {
      const n = adjudicator.registers.length;
      await new Promise((r) => setTimeout(r, 30));
      expect(adjudicator.registers.length).toBe(n);
      return n;
    });
    expect(attempts).toBeLessThan(1000);
    await watcher.close();
  });

  it("does not refute after the channel concluded", async () => {
    const { adjudicator, watcher } = setup();
    const ch = await factory.ledger();
    const handle = await watcher.startWatchingLedgerChannel(ch.current);
    const c = collect(handle);
    await handle.publish(await factory.pay(ch, 0, 1n));
    const concluded: ConcludedEvent = {
      type: "concluded",
      id: ch.params.id,
      version: 0n,
      timeout: new ManualTimeout(),
    };
    adjudicator.emit(concluded);
    adjudicator.emit(adjudicator.registered(ch.history[0]!.state));
    await vi.waitFor(() => expect(c.events).toHaveLength(2));
    await watcher.close();
    expect(adjudicator.registers).toHaveLength(0);
  });

  it("keeps a stopped sub-channel's state for the parent's refutation until the parent releases it", async () => {
    const { adjudicator, watcher } = setup();
    const root = await factory.ledger();
    const sub = await factory.child(root, [4n, 4n]);
    const hRoot = await watcher.startWatchingLedgerChannel(root.current);
    const hSub = await watcher.startWatchingSubChannel(root.params.id, sub.current);
    await hSub.publish(await factory.pay(sub, 0, 1n));
    await watcher.stopWatching(sub.params.id);
    expect(adjudicator.openSubscriptions(sub.params.id)).toBe(1); // archived, still checked
    adjudicator.emit(adjudicator.registered(root.history[0]!.state));
    await vi.waitFor(() => expect(adjudicator.registers).toHaveLength(1));
    expect(adjudicator.registers[0]!.subStates).toEqual([sub.current]);
    // the parent settles the sub-channel off-chain: the archive is dropped
    await hRoot.publish(await factory.update(root, (a) => withoutSubAlloc(a, sub.params.id, [[4n, 4n]])));
    expect(adjudicator.openSubscriptions(sub.params.id)).toBe(0);
    await watcher.stopWatching(root.params.id);
  });
});

describe("LocalWatcher event relay", () => {
  it("relays registered, progressed and concluded events in order", async () => {
    const { adjudicator, watcher } = setup();
    const ch = await factory.ledger();
    const handle = await watcher.startWatchingLedgerChannel(ch.current);
    const c = collect(handle);
    const next = await factory.pay(ch, 0, 1n);
    await handle.publish(next);
    const progressed: ProgressedEvent = {
      type: "progressed",
      id: ch.params.id,
      version: 2n,
      timeout: new ManualTimeout(),
      state: { ...next.state, version: 2n },
      actorIdx: 1,
    };
    const concluded: ConcludedEvent = {
      type: "concluded",
      id: ch.params.id,
      version: 2n,
      timeout: new ManualTimeout(),
    };
    adjudicator.emit(adjudicator.registered(next.state));
    adjudicator.emit(progressed);
    adjudicator.emit(concluded);
    await vi.waitFor(() => expect(c.events).toHaveLength(3));
    expect(c.events[1]).toBe(progressed);
    expect(c.events[2]).toBe(concluded);
    expect(c.events.map((e) => e.type)).toEqual(["registered", "progressed", "concluded"]);
    await watcher.close();
    await c.done;
    expect(adjudicator.registers).toHaveLength(0);
  });

  it("ignores (and logs) events of another channel", async () => {
    const { adjudicator, watcher } = setup();
    const ch = await factory.ledger();
    const other = await factory.ledger();
    const handle = await watcher.startWatchingLedgerChannel(ch.current);
    const c = collect(handle);
    await handle.publish(await factory.pay(ch, 0, 1n));
    // a misbehaving adjudicator delivers a foreign, "stale-looking" event on this channel's subscription
    const foreign = adjudicator.registered(other.current.state);
    adjudicator.emit({ ...foreign, id: other.params.id });
    adjudicator.emit({ ...adjudicator.registered(ch.current.state) });
    await vi.waitFor(() => expect(c.events).toHaveLength(1));
    await watcher.close();
    await c.done;
    expect(channelIdEquals(c.events[0]!.id, ch.params.id)).toBe(true);
    expect(adjudicator.registers).toHaveLength(0);
  });

  it("ends the stream with the subscription's error", async () => {
    const { adjudicator, watcher } = setup();
    const ch = await factory.ledger();
    const handle = await watcher.startWatchingLedgerChannel(ch.current);
    const boom = new Error("chain gone");
    adjudicator.failSubscriptions(ch.params.id, boom);
    await expect(collect(handle).done).rejects.toBe(boom);
    await watcher.close();
  });

  it("drops the oldest events of a slow consumer, counts and still refutes", async () => {
    const { adjudicator, watcher } = setup({ eventBufferSize: 2 });
    const ch = await factory.ledger();
    const handle = await watcher.startWatchingLedgerChannel(ch.current);
    await handle.publish(await factory.pay(ch, 0, 1n));
    const concluded = (v: bigint): ConcludedEvent => ({
      type: "concluded",
      id: ch.params.id,
      version: v,
      timeout: new ManualTimeout(),
    });
    adjudicator.emit(adjudicator.registered(ch.history[0]!.state)); // stale: refuted, echo v1
    await vi.waitFor(() => expect(adjudicator.registers).toHaveLength(1));
    adjudicator.emit(concluded(1n));
    await vi.waitFor(() => expect(handle.droppedEvents).toBe(1));
    expect(adjudicator.registers).toHaveLength(1);
    const seen: AdjudicatorEvent[] = [];
    await watcher.stopWatching(ch.params.id);
    for await (const e of handle.events) seen.push(e);
    expect(seen.map((e) => [e.type, e.version])).toEqual([
      ["registered", 1n],
      ["concluded", 1n],
    ]);
  });
});
