// Behaviour of LevelPersistRestorer beyond the generic suite: restart, close, re-creation, removal,
// the stale-signature bug of go-perun (spec §6.3) and writes to channels of an earlier process.
import { type PersistedChannel, UnknownChannelError } from "@perun-ts/core";
import { persistedChannelDiff } from "@perun-ts/testing";
import { ClassicLevel } from "classic-level";
import { afterEach, describe, expect, it } from "vitest";
import { type Fixture, makeFixture, peerOf, TestChannel } from "./channel-fixture.test-helper.js";
import { PersisterClosedError } from "./errors.js";
import { SCHEMA_KEY } from "./keys.js";
import { LevelPersistRestorer } from "./level-persist-restorer.js";
import { tempDir } from "./temp-dir.test-helper.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(durable = false): Promise<{ f: Fixture; path: string; pr: LevelPersistRestorer }> {
  const dir = tempDir();
  cleanups.push(dir.remove);
  const f = makeFixture();
  const pr = await LevelPersistRestorer.open(dir.path, { ...f.ctx, durable });
  cleanups.push(() => pr.close());
  return { f, path: dir.path, pr };
}

async function reopen(pr: LevelPersistRestorer, f: Fixture): Promise<LevelPersistRestorer> {
  await pr.close();
  const next = await LevelPersistRestorer.open(pr.location, { ...f.ctx });
  cleanups.push(() => next.close());
  return next;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function expectSame(expected: PersistedChannel, actual: PersistedChannel): void {
  expect(persistedChannelDiff(expected, actual)).toBeUndefined();
}

/** Every key of the database at `path` (persister closed). */
async function allKeys(path: string): Promise<Uint8Array[]> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(path, { keyEncoding: "view", valueEncoding: "view" });
  try {
    return await db.keys().all();
  } finally {
    await db.close();
  }
}

describe("LevelPersistRestorer", () => {
  it("restores every channel, peer and parent link after close and reopen", async () => {
    const { f, pr } = await setup(true);
    const channels: TestChannel[] = [];
    for (const [i, peer] of f.peers.entries()) {
      const ledger = new TestChannel(f, peer, BigInt(2 * i));
      const sub = new TestChannel(f, peer, BigInt(2 * i + 1), ledger.id);
      channels.push(ledger, sub);
    }
    await Promise.all(
      channels.map(async (c, i) => {
        await c.created(pr);
        await c.open(pr);
        if (i % 2 === 0) await c.update(pr);
        if (i % 3 === 0) await c.stage(pr);
      }),
    );
    const again = await reopen(pr, f);
    for (const c of channels) expectSame(c.expected(), await again.restoreChannel(c.id));
    const all = await collect(again.restoreAll());
    expect(all.length).toBe(channels.length);
    for (const c of channels) {
      const restored = all.find((x) => persistedChannelDiff(c.expected(), x) === undefined);
      expect(restored, "restoreAll lacks a channel").toBeDefined();
    }
    const active = (await again.activePeers()).map((a) => a.toString()).sort();
    expect(active).toEqual([f.own, ...f.peers].map((a) => a.address.toString()).sort());
    for (const peer of f.peers) expect((await collect(again.restorePeer(peer.address))).length).toBe(2);
    expect(await again.verifyIntegrity()).toEqual({
      channels: channels.length,
      peerEntries: 2 * channels.length,
    });
  });

  it("continues writing channels created by an earlier process", async () => {
    const { f, pr } = await setup();
    const c = new TestChannel(f, peerOf(f, 0), 1n);
    await c.created(pr);
    await c.open(pr);
    const again = await reopen(pr, f);
    await c.update(again);
    await c.stage(again, true);
    await c.ownSig(again);
    expectSame(c.expected(), await again.restoreChannel(c.id));
    const third = await reopen(again, f);
    expectSame(c.expected(), await third.restoreChannel(c.id));
    c.machine.discardUpdate();
    await third.staged(c.machine.source());
    await third.channelRemoved(c.id);
    await expect(third.restoreChannel(c.id)).rejects.toBeInstanceOf(UnknownChannelError);
  });

  it("never restores the signature of a discarded update with the next staged state", async () => {
    const { f, pr } = await setup();
    const c = new TestChannel(f, peerOf(f, 0), 7n);
    await c.created(pr);
    await c.open(pr);
    await c.stage(pr);
    await c.ownSig(pr);
    c.machine.discardUpdate();
    await pr.staged(c.machine.source());
    await c.stage(pr); // the next update, not signed yet: then the process stops
    const restored = await (await reopen(pr, f)).restoreChannel(c.id);
    expect(restored.staging.state?.version).toBe(1n);
    expect(restored.staging.sigs.every((s) => s === undefined)).toBe(true);
    expectSame(c.expected(), restored);
  });

  it("removes a channel completely: record, parent link and every peer entry", async () => {
    const { f, pr } = await setup();
    const parent = new TestChannel(f, peerOf(f, 0), 1n);
    const child = new TestChannel(f, peerOf(f, 0), 2n, parent.id);
    for (const c of [parent, child]) {
      await c.created(pr);
      await c.open(pr);
    }
    await pr.channelRemoved(child.id);
    await pr.channelRemoved(parent.id);
    expect(await pr.activePeers()).toEqual([]);
    await pr.close();
    const keys = await allKeys(pr.location);
    expect(keys.map((k) => Buffer.from(k).toString("hex"))).toEqual([
      Buffer.from(SCHEMA_KEY).toString("hex"),
    ]);
  });

  it("re-creating a channel replaces its peer entries in the same batch", async () => {
    const { f, pr } = await setup();
    const c = new TestChannel(f, peerOf(f, 0), 3n);
    await c.created(pr);
    const otherPeers = [f.own.address, peerOf(f, 1).address];
    await pr.channelCreated(c.machine.source(), otherPeers, undefined);
    expect(await collect(pr.restorePeer(peerOf(f, 0).address))).toEqual([]);
    expect((await collect(pr.restorePeer(peerOf(f, 1).address))).length).toBe(1);
    expect(await pr.verifyIntegrity()).toEqual({ channels: 1, peerEntries: 2 });
  });

  it("rejects writes and reads of unknown or removed channels with UnknownChannelError", async () => {
    const { f, pr } = await setup();
    const c = new TestChannel(f, peerOf(f, 0), 4n);
    const src = c.machine.source();
    for (const call of [
      () => pr.staged(src),
      () => pr.sigAdded(src, 0),
      () => pr.enabled(src),
      () => pr.phaseChanged(src),
      () => pr.channelRemoved(src.id),
      () => pr.restoreChannel(src.id),
    ]) {
      await expect(call()).rejects.toBeInstanceOf(UnknownChannelError);
    }
    await c.created(pr);
    await pr.channelRemoved(c.id);
    await expect(pr.phaseChanged(src)).rejects.toBeInstanceOf(UnknownChannelError);
    await expect(pr.channelRemoved(src.id)).rejects.toBeInstanceOf(UnknownChannelError);
  });

  it("rejects a peer list that does not match the participants and out-of-range signature indices", async () => {
    const { f, pr } = await setup();
    const c = new TestChannel(f, peerOf(f, 0), 5n);
    await expect(pr.channelCreated(c.machine.source(), [f.own.address], undefined)).rejects.toThrow(
      /2 participants but 1 peers/,
    );
    await c.created(pr);
    await expect(pr.sigAdded(c.machine.source(), 2)).rejects.toThrow(/out of range/);
  });

  it("close flushes queued writes; every call after close rejects with PersisterClosedError", async () => {
    const { f, pr } = await setup(true);
    const cs = f.peers.map((p, i) => new TestChannel(f, p, BigInt(10 + i)));
    const writes = cs.map((c) => c.created(pr)); // not awaited before close
    await pr.close();
    await Promise.all(writes);
    await pr.close(); // idempotent
    const c = cs[0] as TestChannel;
    const src = c.machine.source();
    const calls: (() => Promise<unknown>)[] = [
      () => c.created(pr),
      () => pr.staged(src),
      () => pr.sigAdded(src, 0),
      () => pr.enabled(src),
      () => pr.phaseChanged(src),
      () => pr.channelRemoved(src.id),
      () => pr.restoreChannel(src.id),
      () => pr.activePeers(),
      () => collect(pr.restorePeer(f.own.address)),
      () => collect(pr.restoreAll()),
      () => pr.verifyIntegrity(),
    ];
    for (const call of calls) await expect(call()).rejects.toBeInstanceOf(PersisterClosedError);
    const again = await LevelPersistRestorer.open(pr.location, { ...f.ctx });
    cleanups.push(() => again.close());
    for (const x of cs) expectSame(x.expected(), await again.restoreChannel(x.id));
  });

  it("stops a restorePeer iteration that outlives close with PersisterClosedError", async () => {
    const { f, pr } = await setup();
    const peer = peerOf(f, 0);
    for (let i = 0; i < 3; i++) await new TestChannel(f, peer, BigInt(20 + i)).created(pr);
    const it = pr.restorePeer(peer.address)[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    await pr.close();
    await expect(it.next()).rejects.toBeInstanceOf(PersisterClosedError);
  });
});
