import { bytesEqual, MemoryPersistRestorer, PeerRejectedError, Phase } from "@perun-ts/core";
import {
  type Bus,
  type Envelope,
  type Message,
  MessageType,
  messageTypeName,
  type PublishOptions,
} from "@perun-ts/wire";
import { afterEach, describe, expect, it } from "vitest";
import type { Channel } from "./channel.js";
import {
  acceptAllHandlers,
  type Fixture,
  newFixture,
  type PersistCall,
  pay,
  RecordingPersister,
} from "./client-fixture.test-helper.js";

let fx: Fixture;
afterEach(async () => {
  await fx?.close();
});

/**
 * Logs every sent message (as `send <Type> v<version>`) into a shared log before publishing, and
 * checks persist-before-send: a message carrying an own signature must find that signature, on the
 * state it signs, already in `store` (what a crash at this moment would restore).
 */
class RecordingBus implements Bus {
  /** Sent signatures that were checked against the store. */
  checked = 0;
  /** Sent signatures the store did not hold yet. */
  readonly unstored: string[] = [];
  constructor(
    readonly inner: Bus,
    readonly log: (string | PersistCall)[],
    readonly store?: MemoryPersistRestorer,
  ) {}
  async publish(env: Envelope, opts?: PublishOptions): Promise<void> {
    const what = `send ${messageTypeName(env.message)}${version(env.message)}`;
    this.log.push(what);
    const signed = signedBy(env.message);
    if (this.store && signed) {
      this.checked++;
      if (!(await holds(this.store, signed))) this.unstored.push(what);
    }
    return this.inner.publish(env, opts);
  }
  subscribe(...a: Parameters<Bus["subscribe"]>) {
    return this.inner.subscribe(...a);
  }
  close() {
    return this.inner.close();
  }
}

interface SignedRef {
  readonly id: Uint8Array;
  readonly version: bigint;
  readonly sig: Uint8Array;
}

function signedBy(m: Message): SignedRef | undefined {
  if (m.type === MessageType.ChannelUpdate) return { id: m.state.id, version: m.state.version, sig: m.sig };
  if (m.type === MessageType.ChannelUpdateAcc) return { id: m.channelId, version: m.version, sig: m.sig };
  return undefined;
}

/** True if the stored record holds `ref.sig` on its version in the staging or current transaction. */
async function holds(store: MemoryPersistRestorer, ref: SignedRef): Promise<boolean> {
  const c = await store.restoreChannel(ref.id).catch(() => undefined);
  if (!c) return false;
  return [c.staging, c.current].some(
    (tx) =>
      tx.state?.version === ref.version && tx.sigs.some((s) => s !== undefined && bytesEqual(s, ref.sig)),
  );
}

function version(m: Message): string {
  if (m.type === MessageType.ChannelUpdate) return ` v${m.state.version}`;
  if (m.type === MessageType.ChannelUpdateAcc || m.type === MessageType.ChannelUpdateRej)
    return ` v${m.version}`;
  return "";
}

/** Compact form of a log entry: `staged(Signing,sigs01,s1,c0)`, `send ChannelUpdate v1`. */
function fmt(e: string | PersistCall): string {
  if (typeof e === "string") return e;
  const parts: string[] = [];
  if (e.phase !== undefined) parts.push(Phase[e.phase] as string);
  if (e.idx !== undefined) parts.push(`sig${e.idx}`);
  if (e.stagingSigs !== undefined) parts.push(`sigs${e.stagingSigs.join("")}`);
  if (e.stagingVersion !== undefined) parts.push(`s${e.stagingVersion}`);
  if (e.currentVersion !== undefined) parts.push(`c${e.currentVersion}`);
  return `${e.method}(${parts.join(",")})`;
}

function recordingParty(name: string, log: (string | PersistCall)[]) {
  const store = new MemoryPersistRestorer();
  const bus = new RecordingBus(fx.bus, log, store);
  return { store, bus, party: fx.party(name, { persister: new RecordingPersister(store, log), bus }) };
}

function recorded() {
  const logA: (string | PersistCall)[] = [];
  const logB: (string | PersistCall)[] = [];
  const ra = recordingParty("A", logA);
  const rb = recordingParty("B", logB);
  return { a: ra.party, b: rb.party, logA, logB, busA: ra.bus, busB: rb.bus };
}

/** Every signature sent so far was stored before it was sent, and at least `n` were checked. */
function expectPersistedBeforeSend(bus: RecordingBus, n: number): void {
  expect(bus.unstored).toEqual([]);
  expect(bus.checked).toBeGreaterThanOrEqual(n);
}

/*
 * Spec §6.2 lists one persister call per machine step; the client coalesces them (see
 * persisting-machine.ts): every call stores the whole record, so only the write before a send and
 * the enabling write are made. Each side makes two writes per update.
 */
describe("persister call order (spec §6.2, coalesced): persist before send", () => {
  it("opening, on both sides", async () => {
    fx = newFixture();
    const { a, b, logA, logB, busA, busB } = recorded();
    await fx.open(a, b);
    const opening = (idx: number) => [
      "channelCreated(InitActing)",
      `staged(InitSigning,sigs${idx},s0)`,
      "send ChannelUpdateAcc v0",
      "enabled(Funding,c0)",
      "phaseChanged(Acting,c0)",
    ];
    expect(logA.map(fmt)).toEqual(["send LedgerChannelProposal", ...opening(0)]);
    expect(logB.map(fmt)).toEqual(["send LedgerChannelProposalAcc", ...opening(1)]);
    expectPersistedBeforeSend(busA, 1);
    expectPersistedBeforeSend(busB, 1);
  });

  it("update: proposer and receiver", async () => {
    fx = newFixture();
    const { a, b, logA, logB, busA, busB } = recorded();
    const [ca, cb] = await fx.open(a, b);
    logA.length = 0;
    logB.length = 0;
    await ca.update(pay(0, 1n));
    expect(logA.map(fmt)).toEqual([
      "staged(Signing,sigs0,s1,c0)",
      "send ChannelUpdate v1",
      "enabled(Acting,c1)",
    ]);
    expect(logB.map(fmt)).toEqual([
      "staged(Signing,sigs01,s1,c0)",
      "send ChannelUpdateAcc v1",
      "enabled(Acting,c1)",
    ]);
    await cb.update(pay(1, 2n));
    expect(cb.state.version).toBe(2n);
    expectPersistedBeforeSend(busA, 3);
    expectPersistedBeforeSend(busB, 3);
  });

  it("the check sees a signature sent before it was stored", async () => {
    fx = newFixture();
    const store = new MemoryPersistRestorer();
    const bus = new RecordingBus(fx.bus, [], store);
    const id = new Uint8Array(32).fill(7);
    const message: Message = {
      type: MessageType.ChannelUpdateAcc,
      channelId: id,
      version: 1n,
      sig: new Uint8Array(65),
    };
    const [a, b] = [fx.party("A"), fx.party("B")];
    await bus.publish({ sender: a.wire.address, recipient: b.wire.address, message });
    expect(bus.checked).toBe(1);
    expect(bus.unstored).toEqual(["send ChannelUpdateAcc v1"]);
  });

  it("rejected update: the proposer discards (empty staging persisted); the receiver stores nothing", async () => {
    fx = newFixture();
    const logA: (string | PersistCall)[] = [];
    const logB: (string | PersistCall)[] = [];
    const { party: a } = recordingParty("A", logA);
    const { party: b } = recordingParty("B", logB);
    await fx.restart(b, {
      persister: new RecordingPersister(new MemoryPersistRestorer(), logB),
      bus: new RecordingBus(fx.bus, logB),
      handlers: { ...acceptAllHandlers(b), onUpdate: (_c, _s, _u, r) => r.reject("no") },
    });
    const [ca] = await fx.open(a, b);
    logA.length = 0;
    logB.length = 0;
    await expect(ca.update(pay(0, 1n))).rejects.toBeInstanceOf(PeerRejectedError);
    expect(logA.map(fmt)).toEqual([
      "staged(Signing,sigs0,s1,c0)",
      "send ChannelUpdate v1",
      "staged(Acting,c0)",
    ]);
    expect(logB.map(fmt)).toEqual(["send ChannelUpdateRej v1"]);
    expect(ca.phase).toBe(Phase.Acting);
  });
});

describe("responder decision timeout", () => {
  it("an update handler that never decides is answered with a rejection", async () => {
    fx = newFixture();
    const a = fx.party("A");
    const b = fx.party("B", { client: { decisionTimeoutMs: 50 } });
    await fx.restart(b, {
      client: { decisionTimeoutMs: 50 },
      handlers: { ...acceptAllHandlers(b), onUpdate: () => undefined },
    });
    const [ca, cb] = await fx.open(a, b);
    const err = await ca.update(pay(0, 1n)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PeerRejectedError);
    expect(String((err as Error).message)).toMatch(/no decision in time/);
    expect(ca.state.version).toBe(0n);
    expect(cb.state.version).toBe(0n);
    expect(cb.phase).toBe(Phase.Acting);
  });
});

describe("early update replay", () => {
  it("an update that arrives before the receiver finished funding is kept and handled afterwards", async () => {
    fx = newFixture();
    const a = fx.party("A");
    let releaseB!: () => void;
    const bHeld = new Promise<void>((r) => {
      releaseB = r;
    });
    let bFunded = false;
    const b = fx.party("B", {
      funder: {
        fund: async (req, opts) => {
          await fx.ledger.funder().fund(req, opts);
          await bHeld; // B's side lags behind: A is done and sends its first update
          bFunded = true;
        },
      },
    });
    const updated: Channel[] = [];
    b.client.onNewChannel((ch) => updated.push(ch));
    const ca = await fx.propose(a, b);
    const update = ca.update(pay(0, 3n));
    await new Promise((r) => setTimeout(r, 20));
    expect(bFunded).toBe(false);
    releaseB();
    await update;
    const cb = updated[0] as Channel;
    expect(cb.state.version).toBe(1n);
    expect(cb.state.allocation.balances).toEqual([[97n, 103n]]);
  });
});
