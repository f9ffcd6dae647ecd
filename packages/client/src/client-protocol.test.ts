import { MemoryPersistRestorer, PeerRejectedError, Phase } from "@perun-ts/core";
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

/** Logs every sent message (as `send <Type> v<version>`) into a shared log before publishing. */
class RecordingBus implements Bus {
  constructor(
    readonly inner: Bus,
    readonly log: (string | PersistCall)[],
  ) {}
  publish(env: Envelope, opts?: PublishOptions): Promise<void> {
    this.log.push(`send ${messageTypeName(env.message)}${version(env.message)}`);
    return this.inner.publish(env, opts);
  }
  subscribe(...a: Parameters<Bus["subscribe"]>) {
    return this.inner.subscribe(...a);
  }
  close() {
    return this.inner.close();
  }
}

function version(m: Message): string {
  if (m.type === MessageType.ChannelUpdate) return ` v${m.state.version}`;
  if (m.type === MessageType.ChannelUpdateAcc || m.type === MessageType.ChannelUpdateRej)
    return ` v${m.version}`;
  return "";
}

/** Compact form of a log entry: `staged(Signing,s1)`, `sigAdded(0)`, `send ChannelUpdate v1`. */
function fmt(e: string | PersistCall): string {
  if (typeof e === "string") return e;
  const parts: string[] = [];
  if (e.phase !== undefined) parts.push(Phase[e.phase] as string);
  if (e.idx !== undefined) parts.push(`sig${e.idx}`);
  if (e.stagingVersion !== undefined) parts.push(`s${e.stagingVersion}`);
  if (e.currentVersion !== undefined) parts.push(`c${e.currentVersion}`);
  return `${e.method}(${parts.join(",")})`;
}

function recorded() {
  const logA: (string | PersistCall)[] = [];
  const logB: (string | PersistCall)[] = [];
  const a = fx.party("A", {
    persister: new RecordingPersister(new MemoryPersistRestorer(), logA),
    bus: new RecordingBus(fx.bus, logA),
  });
  const b = fx.party("B", {
    persister: new RecordingPersister(new MemoryPersistRestorer(), logB),
    bus: new RecordingBus(fx.bus, logB),
  });
  return { a, b, logA, logB };
}

describe("persister call order (spec §6.2): persist before send", () => {
  it("opening, on both sides", async () => {
    fx = newFixture();
    const { a, b, logA, logB } = recorded();
    await fx.open(a, b);
    const opening = (idx: number) => [
      "channelCreated(InitActing)",
      "staged(InitSigning,s0)",
      `sigAdded(InitSigning,sig${idx},s0)`,
      "send ChannelUpdateAcc v0",
      `sigAdded(InitSigning,sig${idx ^ 1},s0)`,
      "enabled(Funding,c0)",
      "phaseChanged(Acting,c0)",
    ];
    expect(logA.map(fmt)).toEqual(["send LedgerChannelProposal", ...opening(0)]);
    expect(logB.map(fmt)).toEqual(["send LedgerChannelProposalAcc", ...opening(1)]);
  });

  it("update: proposer and receiver", async () => {
    fx = newFixture();
    const { a, b, logA, logB } = recorded();
    const [ca] = await fx.open(a, b);
    logA.length = 0;
    logB.length = 0;
    await ca.update(pay(0, 1n));
    expect(logA.map(fmt)).toEqual([
      "staged(Signing,s1,c0)",
      "sigAdded(Signing,sig0,s1,c0)",
      "send ChannelUpdate v1",
      "sigAdded(Signing,sig1,s1,c0)",
      "enabled(Acting,c1)",
    ]);
    expect(logB.map(fmt)).toEqual([
      "staged(Signing,s1,c0)",
      "sigAdded(Signing,sig0,s1,c0)",
      "sigAdded(Signing,sig1,s1,c0)",
      "send ChannelUpdateAcc v1",
      "enabled(Acting,c1)",
    ]);
  });

  it("rejected update: the proposer discards (empty staging persisted); the receiver stores nothing", async () => {
    fx = newFixture();
    const logA: (string | PersistCall)[] = [];
    const logB: (string | PersistCall)[] = [];
    const a = fx.party("A", {
      persister: new RecordingPersister(new MemoryPersistRestorer(), logA),
      bus: new RecordingBus(fx.bus, logA),
    });
    const b = fx.party("B", {
      persister: new RecordingPersister(new MemoryPersistRestorer(), logB),
      bus: new RecordingBus(fx.bus, logB),
    });
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
      "staged(Signing,s1,c0)",
      "sigAdded(Signing,sig0,s1,c0)",
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
