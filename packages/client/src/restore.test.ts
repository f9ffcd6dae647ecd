import { type Funder, MemoryPersistRestorer, Phase } from "@perun-ts/core";
import { afterEach, describe, expect, it } from "vitest";
import type { Channel } from "./channel.js";
import {
  eventually,
  type Fixture,
  newFixture,
  type PersistCall,
  pay,
  RecordingPersister,
} from "./client-fixture.test-helper.js";
import { parentsFirst } from "./restore.js";

let fx: Fixture;
afterEach(async () => {
  await fx?.close();
});

const short = () => ({ signal: AbortSignal.timeout(300) });

function agree(a: Channel, b: Channel): void {
  expect(a.state.version).toBe(b.state.version);
  expect(a.state.allocation.balances).toEqual(b.state.allocation.balances);
  expect(a.phase).toBe(Phase.Acting);
  expect(b.phase).toBe(Phase.Acting);
}

describe("restore", () => {
  it("Petra/Robert: both restart, restore, continue, settle (wallet usage restored)", async () => {
    fx = newFixture();
    const petra = fx.party("Petra");
    const robert = fx.party("Robert");
    const [p0, r0] = await fx.open(petra, robert);
    await p0.update(pay(0, 1n));
    expect(r0.state.version).toBe(1n);
    const seen: Channel[] = [];
    await fx.restart(petra);
    await fx.restart(robert);
    petra.client.onNewChannel((ch) => seen.push(ch));
    expect(petra.wallet.usageCount(petra.participant.address)).toBe(1); // same wallet object
    const [rp, rr] = await Promise.all([petra.client.restore(), robert.client.restore()]);
    expect(rp.channels.map((c) => c.sync)).toEqual(["in-sync"]);
    expect(rr.channels.map((c) => c.sync)).toEqual(["in-sync"]);
    const p = rp.channels[0]?.channel as Channel;
    const r = rr.channels[0]?.channel as Channel;
    expect(seen).toEqual([p]);
    expect(petra.client.channel(p.id)).toBe(p);
    expect(petra.wallet.usageCount(petra.participant.address)).toBe(2);
    agree(p, r);
    expect(p.state.allocation.balances).toEqual([[99n, 101n]]);
    await r.update((s) => ({ ...s, isFinal: true }));
    await Promise.all([p.settle(), r.settle({ secondary: true })]);
    expect(fx.ledger.balanceOf(petra.participant.address, fx.asset)).toBe(999n);
    expect(fx.ledger.balanceOf(robert.participant.address, fx.asset)).toBe(1_001n);
    expect(petra.store.size).toBe(0);
  });

  it("restoring twice does not duplicate a channel", async () => {
    fx = newFixture();
    const a = fx.party("A");
    const b = fx.party("B");
    await fx.open(a, b);
    const again = await a.client.restore({ resume: false });
    expect(again.channels).toEqual([]);
    expect(a.client.channels).toHaveLength(1);
  });

  it("without a restorer it throws", async () => {
    fx = newFixture();
    const a = fx.party("A", { persister: new RecordingPersister(new MemoryPersistRestorer()) });
    await expect(a.client.restore()).rejects.toThrow(/Restorer/);
  });
});

/**
 * Crash windows (spec §6.4): one side's store freezes at a chosen persister call (as a crash there
 * would leave it; nothing after it is sent), the side restarts from the store, restores and syncs.
 * An update stores one record per side before its send and one when enabling (see
 * persisting-machine.ts): the receiver's `staged` holds the state with both signatures.
 */
describe("crash windows of an update", () => {
  async function crashCase(
    who: "proposer" | "receiver",
    when: (c: PersistCall) => boolean,
    afterWrite: boolean,
  ): Promise<{ a: Channel; b: Channel; outcome: string | undefined }> {
    fx = newFixture();
    const a = fx.party("A");
    const b = fx.party("B");
    const [ca] = await fx.open(a, b);
    const victim = who === "proposer" ? a : b;
    const rec = new RecordingPersister(victim.store, [], when, afterWrite);
    await fx.restart(victim, { persister: rec });
    const report0 = await victim.client.restore({ resume: false, restorer: victim.store });
    const live = who === "proposer" ? (report0.channels[0]?.channel as Channel) : ca;
    await live.update(pay(0, 10n), short()).catch(() => undefined);
    await eventually(() => rec.crashed, "the crash point was reached");
    // Let the other side finish whatever it was doing (its update or its acceptance).
    await new Promise((r) => setTimeout(r, 50));
    await fx.restart(victim);
    const report = await victim.client.restore({ syncTimeoutMs: 2_000, restorer: victim.store });
    const restored = report.channels[0];
    if (restored?.error) throw restored.error;
    const other = who === "proposer" ? b : a;
    const oc = other.client.channels[0] as Channel;
    const vc = restored?.channel as Channel;
    await eventually(() => oc.state.version === vc.state.version, "both at the same version");
    return who === "proposer"
      ? { a: vc, b: oc, outcome: restored?.sync }
      : { a: oc, b: vc, outcome: restored?.sync };
  }

  it("receiver crashes before storing its own signature: nothing of it was stored, both stay at version 0", async () => {
    const { a, b, outcome } = await crashCase(
      "receiver",
      (c) => c.method === "staged" && c.phase === Phase.Signing,
      false,
    );
    // The staged state was only in memory (it is stored together with the own signature).
    expect(outcome).toBe("in-sync");
    agree(a, b);
    expect(a.state.version).toBe(0n);
    await a.update(pay(0, 1n));
    expect(b.state.version).toBe(1n);
  });

  it("receiver crashes after storing its signature, before sending: both adopt the signed state", async () => {
    const { a, b, outcome } = await crashCase(
      "receiver",
      (c) => c.method === "staged" && c.phase === Phase.Signing,
      true,
    );
    // The proposer discarded it after its timeout; whichever sync runs first, it adopts version 1.
    expect(["peer-behind", "in-sync"]).toContain(outcome);
    await eventually(() => a.state.version === 1n, "the proposer adopted version 1");
    agree(a, b);
    expect(a.state.allocation.balances).toEqual([[90n, 110n]]);
  });

  it("receiver crashes after sending its acceptance, before enabling: restored as enabled", async () => {
    const { a, b, outcome } = await crashCase("receiver", (c) => c.method === "enabled", false);
    expect(outcome).toBe("in-sync");
    agree(a, b);
    expect(b.state.version).toBe(1n);
  });

  it("proposer crashes before storing the acceptance: completed from the peer's state", async () => {
    const { a, b, outcome } = await crashCase("proposer", (c) => c.method === "enabled", false);
    expect(outcome).toBe("completed");
    agree(a, b);
    expect(a.state.version).toBe(1n);
  });
});

describe("crash windows of an opening", () => {
  it("proposer crashes before storing the peer's version-0 signature while the peer funds: sync completes the opening", async () => {
    fx = newFixture();
    const a = fx.party("A");
    const b = fx.party("B");
    const rec = new RecordingPersister(
      a.store,
      [],
      (c) => c.method === "enabled" && c.phase === Phase.Funding,
    );
    await fx.restart(a, { persister: rec });
    const bOpened = new Promise<Channel>((resolve) => {
      const off = b.client.onNewChannel((ch) => {
        off();
        resolve(ch);
      });
    });
    await expect(fx.propose(a, b)).rejects.toThrow(/crashed/);
    // A's store holds the half-signed opening; B holds the fully signed version 0 and deposited.
    await eventually(() => fx.ledger.balanceOf(b.participant.address, fx.asset) === 900n, "B deposited");
    expect(b.client.channels).toHaveLength(0); // B is still funding: it waits for A's deposit
    await fx.restart(a);
    const report = await a.client.restore({ syncTimeoutMs: 2_000 });
    expect(report.abandoned).toEqual([]);
    const r = report.channels[0];
    expect(r?.error).toBeUndefined();
    expect(r?.sync).toBe("completed");
    const ca = r?.channel as Channel;
    const cb = await bOpened;
    agree(ca, cb);
    expect(ca.current.sigs).toEqual(cb.current.sigs);
    expect(fx.ledger.balanceOf(a.participant.address, fx.asset)).toBe(900n);
    await ca.update(pay(0, 1n));
    expect(cb.state.version).toBe(1n);
  });

  it("an interrupted opening whose peer does not answer is abandoned (nothing was deposited)", async () => {
    fx = newFixture();
    const a = fx.party("A");
    const b = fx.party("B");
    const rec = new RecordingPersister(a.store, [], (c) => c.method === "staged", true);
    await fx.restart(a, { persister: rec });
    await expect(fx.propose(a, b)).rejects.toThrow(/crashed/);
    expect(a.store.size).toBe(1);
    await b.client.close(); // the peer is offline: the sync gets no answer
    await fx.restart(a);
    const usage = a.wallet.usageCount(a.participant.address);
    const report = await a.client.restore({ syncTimeoutMs: 200 });
    expect(report.channels).toEqual([]);
    expect(report.abandoned).toHaveLength(1);
    expect(a.client.channels).toEqual([]);
    expect(a.store.size).toBe(0);
    expect(a.wallet.usageCount(a.participant.address)).toBe(usage);
    expect(fx.ledger.balanceOf(a.participant.address, fx.asset)).toBe(1_000n);
  });

  it("an interrupted opening whose peer still waits for the signature is completed by sync", async () => {
    fx = newFixture();
    const a = fx.party("A");
    const b = fx.party("B");
    // A stores its signature, then crashes before sending it: B waits for it (InitSigning).
    const rec = new RecordingPersister(a.store, [], (c) => c.method === "staged", true);
    await fx.restart(a, { persister: rec });
    const bOpened = new Promise<Channel>((resolve) => {
      const off = b.client.onNewChannel((ch) => {
        off();
        resolve(ch);
      });
    });
    await expect(fx.propose(a, b)).rejects.toThrow(/crashed/);
    await fx.restart(a);
    const report = await a.client.restore({ syncTimeoutMs: 2_000 });
    expect(report.channels[0]?.error).toBeUndefined();
    expect(report.channels[0]?.sync).toBe("completed");
    const ca = report.channels[0]?.channel as Channel;
    const cb = await bOpened;
    agree(ca, cb);
    expect(ca.current.sigs).toEqual(cb.current.sigs);
  });
});

describe("crash during funding", () => {
  it("a channel restored in Funding finishes funding", async () => {
    fx = newFixture();
    const a = fx.party("A");
    const crashing: Funder = {
      fund: async () => {
        throw new Error("crashed before depositing");
      },
    };
    const b = fx.party("B", { funder: crashing });
    const opening = fx.propose(a, b);
    await eventually(() => b.store.size === 1 && b.client.channels.length === 1, "B stored the channel");
    expect(b.client.channels[0]?.phase).toBe(Phase.Funding);
    await fx.restart(b);
    const report = await b.client.restore();
    const r = report.channels[0];
    expect(r?.error).toBeUndefined();
    expect(r?.channel.phase).toBe(Phase.Acting);
    const ca = await opening;
    expect(ca.phase).toBe(Phase.Acting);
    await ca.update(pay(0, 1n));
    expect(r?.channel.state.version).toBe(1n);
  });
});

describe("parentsFirst", () => {
  it("orders parents before children and reports orphans and cycles", () => {
    const id = (n: number) => new Uint8Array(32).fill(n);
    const ch = (n: number, parent?: number) =>
      ({ id: id(n), parent: parent === undefined ? undefined : id(parent) }) as unknown as Parameters<
        typeof parentsFirst
      >[0][number];
    const { ordered, orphans } = parentsFirst([ch(3, 2), ch(2, 1), ch(1), ch(4, 9), ch(5, 6), ch(6, 5)]);
    expect(ordered.map((c) => c.id[0])).toEqual([1, 2, 3]);
    expect(orphans.map((c) => c.id[0]).sort()).toEqual([4, 5, 6]);
  });
});
