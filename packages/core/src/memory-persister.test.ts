import { describe, expect, it } from "vitest";
import { noApp } from "./app.js";
import { channelIdHex } from "./channel-id.js";
import { UnknownChannelError, ValidationError } from "./errors.js";
import { FakeAsset, FakeBackend, fakeAccount } from "./fake-backend.test-helper.js";
import type { Address } from "./identity.js";
import { MemoryPersistRestorer } from "./memory-persister.js";
import { Params } from "./params.js";
import type { ChannelSource, PersistedChannel } from "./persistence.js";
import { Phase } from "./phase.js";
import { type State, stateEquals } from "./state.js";
import type { Transaction } from "./transaction.js";

const backend = new FakeBackend();
const alice = fakeAccount(1);
const bob = fakeAccount(2);
const carol = fakeAccount(3);
const wire = (n: number) => fakeAccount(100 + n).address;

function params(nonce: bigint, parts: readonly Address[] = [alice.address, bob.address]): Params {
  return Params.create(
    { challengeDuration: 10n, parts, app: noApp, nonce, ledgerChannel: true, virtualChannel: false },
    backend,
  );
}

function state(p: Params, version: bigint): State {
  return {
    id: p.id,
    version,
    app: noApp,
    allocation: {
      assets: [new FakeAsset(1)],
      balances: [p.parts.map(() => 5n)],
      locked: [],
    },
    data: new Uint8Array(),
    isFinal: false,
  };
}

const empty: Transaction = { state: undefined, sigs: [] };

/** A mutable channel source, like a state machine's view. */
function source(p: Params): { -readonly [K in keyof ChannelSource]: ChannelSource[K] } {
  return { id: p.id, idx: 0, params: p, phase: Phase.InitActing, current: empty, staging: empty };
}

async function collect(it: AsyncIterable<PersistedChannel>): Promise<PersistedChannel[]> {
  const out: PersistedChannel[] = [];
  for await (const c of it) out.push(c);
  return out;
}

const sig = (b: number) => new Uint8Array(33).fill(b);

describe("MemoryPersistRestorer", () => {
  it("rejects every call on a channel that was not created", async () => {
    const pr = new MemoryPersistRestorer();
    const src = source(params(1n));
    await expect(pr.staged(src)).rejects.toBeInstanceOf(UnknownChannelError);
    await expect(pr.sigAdded(src, 0)).rejects.toBeInstanceOf(UnknownChannelError);
    await expect(pr.enabled(src)).rejects.toBeInstanceOf(UnknownChannelError);
    await expect(pr.phaseChanged(src)).rejects.toBeInstanceOf(UnknownChannelError);
    await expect(pr.channelRemoved(src.id)).rejects.toBeInstanceOf(UnknownChannelError);
    await expect(pr.restoreChannel(src.id)).rejects.toThrow(channelIdHex(src.id));
    expect(pr.size).toBe(0);
  });

  it("persists creation, staging with all signatures, enabling and phase changes", async () => {
    const pr = new MemoryPersistRestorer();
    const p = params(2n);
    const src = source(p);
    await pr.channelCreated(src, [wire(0), wire(1)], undefined);
    expect(pr.has(p.id)).toBe(true);

    const s0 = state(p, 0n);
    src.phase = Phase.InitSigning;
    src.staging = { state: s0, sigs: [sig(1), sig(2)] };
    await pr.staged(src);
    let r = await pr.restoreChannel(p.id);
    expect(r.phase).toBe(Phase.InitSigning);
    expect(r.staging.sigs).toEqual([sig(1), sig(2)]);
    expect(r.staging.state && stateEquals(r.staging.state, s0)).toBe(true);

    // A later staging without signatures does not keep the earlier (stale) ones.
    src.staging = { state: state(p, 1n), sigs: [undefined, undefined] };
    await pr.staged(src);
    r = await pr.restoreChannel(p.id);
    expect(r.staging.sigs).toEqual([undefined, undefined]);
    expect(r.staging.state?.version).toBe(1n);

    src.staging = { state: state(p, 1n), sigs: [undefined, sig(3)] };
    await pr.sigAdded(src, 1);
    expect((await pr.restoreChannel(p.id)).staging.sigs).toEqual([undefined, sig(3)]);
    await expect(pr.sigAdded(src, 2)).rejects.toBeInstanceOf(ValidationError);

    src.current = { state: state(p, 1n), sigs: [sig(4), sig(3)] };
    src.staging = empty;
    src.phase = Phase.Acting;
    await pr.enabled(src);
    r = await pr.restoreChannel(p.id);
    expect(r.current.state?.version).toBe(1n);
    expect(r.current.sigs).toEqual([sig(4), sig(3)]);
    expect(r.staging.state).toBeUndefined();
    expect(r.phase).toBe(Phase.Acting);

    src.phase = Phase.Registering;
    src.current = empty; // phaseChanged stores the phase only
    await pr.phaseChanged(src);
    r = await pr.restoreChannel(p.id);
    expect(r.phase).toBe(Phase.Registering);
    expect(r.current.state?.version).toBe(1n);
    expect(r.peers.map(String)).toEqual([wire(0), wire(1)].map(String));
    expect(r.parent).toBeUndefined();
    expect(r.idx).toBe(0);
  });

  it("stores and hands out deep copies", async () => {
    const pr = new MemoryPersistRestorer();
    const p = params(3n);
    const src = source(p);
    const s = state(p, 0n);
    const mutableSig = sig(7);
    src.staging = { state: s, sigs: [mutableSig, undefined] };
    const parent = new Uint8Array(32).fill(9);
    const peers = [wire(0), wire(1)];
    await pr.channelCreated(src, peers, parent);

    // Mutating the caller's objects does not change what is stored.
    mutableSig.fill(0);
    (s.allocation.balances[0] as bigint[])[0] = 999n;
    (src.staging.sigs as (Uint8Array | undefined)[])[1] = sig(8);
    parent.fill(0);
    peers.pop();
    const r1 = await pr.restoreChannel(p.id);
    expect(r1.staging.sigs).toEqual([sig(7), undefined]);
    expect(r1.staging.state?.allocation.balances[0]?.[0]).toBe(5n);
    expect(r1.parent).toEqual(new Uint8Array(32).fill(9));
    expect(r1.peers).toHaveLength(2);

    // Mutating a restored copy does not change what is stored either.
    (r1.staging.sigs[0] as Uint8Array).fill(1);
    (r1.staging.state?.allocation.balances[0] as bigint[])[1] = 0n;
    (r1.peers as Address[]).length = 0;
    (r1.id as Uint8Array).fill(0);
    const [r2] = await collect(pr.restorePeer(wire(0)));
    expect(r2?.staging.sigs[0]).toEqual(sig(7));
    expect(r2?.staging.state?.allocation.balances[0]?.[1]).toBe(5n);
    expect(r2?.peers).toHaveLength(2);
    expect(r2?.id).toEqual(p.id);
  });

  it("indexes channels by peer; activePeers lists every peer with a channel", async () => {
    const pr = new MemoryPersistRestorer();
    const ab = params(10n);
    const ab2 = params(11n);
    const ac = params(12n, [alice.address, carol.address]);
    await pr.channelCreated(source(ab), [wire(0), wire(1)], undefined);
    await pr.channelCreated(source(ab2), [wire(0), wire(1)], ab.id);
    await pr.channelCreated(source(ac), [wire(0), wire(2)], undefined);
    expect(pr.size).toBe(3);

    const keys = async () => (await pr.activePeers()).map(String).sort();
    expect(await keys()).toEqual([wire(0), wire(1), wire(2)].map(String).sort());
    const ids = async (a: Address) =>
      (await collect(pr.restorePeer(a))).map((c) => channelIdHex(c.id)).sort();
    expect(await ids(wire(0))).toEqual([ab, ab2, ac].map((p) => channelIdHex(p.id)).sort());
    expect(await ids(wire(1))).toEqual([ab, ab2].map((p) => channelIdHex(p.id)).sort());
    expect(await ids(wire(2))).toEqual([channelIdHex(ac.id)]);
    expect(await ids(wire(3))).toEqual([]);
    expect((await pr.restoreChannel(ab2.id)).parent).toEqual(ab.id);

    // channelRemoved removes the channel and its index entries; a peer without channels disappears.
    await pr.channelRemoved(ac.id);
    expect(pr.has(ac.id)).toBe(false);
    expect(await keys()).toEqual([wire(0), wire(1)].map(String).sort());
    expect(await ids(wire(2))).toEqual([]);
    await expect(pr.restoreChannel(ac.id)).rejects.toBeInstanceOf(UnknownChannelError);
    await expect(pr.staged(source(ac))).rejects.toBeInstanceOf(UnknownChannelError);

    await pr.channelRemoved(ab.id);
    await pr.channelRemoved(ab2.id);
    expect(await pr.activePeers()).toEqual([]);
    expect(pr.size).toBe(0);
    expect(pr.channelIds()).toEqual([]);
    await pr.close();
  });

  it("re-creating a channel replaces its record and its peer index entries", async () => {
    const pr = new MemoryPersistRestorer();
    const p = params(20n);
    await pr.channelCreated(source(p), [wire(0), wire(1)], undefined);
    await pr.channelCreated(source(p), [wire(0), wire(5)], undefined);
    expect((await pr.activePeers()).map(String).sort()).toEqual([wire(0), wire(5)].map(String).sort());
    expect(await collect(pr.restorePeer(wire(1)))).toEqual([]);
    expect(pr.size).toBe(1);
  });

  it("rejects a peer list that does not match the participants", async () => {
    const pr = new MemoryPersistRestorer();
    await expect(pr.channelCreated(source(params(30n)), [wire(0)], undefined)).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(pr.size).toBe(0);
  });

  it("a channel removed during restorePeer is skipped, not half-read", async () => {
    const pr = new MemoryPersistRestorer();
    const a = params(40n);
    const b = params(41n);
    await pr.channelCreated(source(a), [wire(0), wire(1)], undefined);
    await pr.channelCreated(source(b), [wire(0), wire(1)], undefined);
    const seen: string[] = [];
    for await (const c of pr.restorePeer(wire(0))) {
      seen.push(channelIdHex(c.id));
      const other = channelIdHex(c.id) === channelIdHex(a.id) ? b : a;
      if (pr.has(other.id)) await pr.channelRemoved(other.id);
    }
    expect(seen).toHaveLength(1);
  });
});
