import { SimAccount } from "@perun-ts/backend-sim";
import { type Address, Phase, RequestTimedOutError, type Signature, type State } from "@perun-ts/core";
import { type Bus, type Envelope, type Message, MessageType, type PublishOptions } from "@perun-ts/wire";
import { afterEach, describe, expect, it } from "vitest";
import type { Channel } from "./channel.js";
import { eventually, type Fixture, newFixture, pay, type TestParty } from "./client-fixture.test-helper.js";
import { SyncConflictError, SyncError } from "./errors.js";

let fx: Fixture;
afterEach(async () => {
  await fx?.close();
});

/** Drops the first envelope matching `pred` (a lost message). */
class DroppingBus implements Bus {
  dropped = 0;
  constructor(
    readonly inner: Bus,
    readonly pred: (m: Message) => boolean,
  ) {}
  publish(env: Envelope, opts?: PublishOptions): Promise<void> {
    if (this.dropped === 0 && this.pred(env.message)) {
      this.dropped++;
      return Promise.resolve();
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

describe("sync repairs divergence", () => {
  it("a lost acceptance: the proposer times out, syncs and adopts the state the receiver enabled", async () => {
    fx = newFixture();
    const a = fx.party("A");
    const b = fx.party("B");
    const [ca, cb] = await fx.open(a, b);
    const lossy = new DroppingBus(fx.bus, (m) => m.type === MessageType.ChannelUpdateAcc);
    await fx.restart(b, { bus: lossy });
    const rb = (await b.client.restore({ restorer: b.store })).channels[0]?.channel as Channel;
    expect(rb.idHex).toBe(cb.idHex);
    await expect(ca.update(pay(0, 7n), { signal: AbortSignal.timeout(200) })).rejects.toBeInstanceOf(
      RequestTimedOutError,
    );
    expect(lossy.dropped).toBe(1);
    expect(rb.state.version).toBe(1n); // the receiver enabled it: divergence until the sync
    await eventually(() => ca.state.version === 1n, "the proposer adopted version 1 by sync");
    expect(ca.state.allocation.balances).toEqual(rb.state.allocation.balances);
    expect(ca.current.sigs.every((s) => s !== undefined)).toBe(true);
    await ca.update(pay(0, 1n));
    expect(rb.state.version).toBe(2n);
  });

  it("an explicit sync of channels in agreement reports in-sync on both sides", async () => {
    fx = newFixture();
    const a = fx.party("A");
    const b = fx.party("B");
    const [ca, cb] = await fx.open(a, b);
    await ca.update(pay(0, 1n));
    expect(await a.client.sync(ca)).toBe("in-sync");
    expect(await b.client.sync(cb)).toBe("in-sync");
    expect(ca.state.version).toBe(1n);
  });
});

/** Counts the channel syncs published through it. */
class CountingBus implements Bus {
  syncs = 0;
  constructor(readonly inner: Bus) {}
  publish(env: Envelope, opts?: PublishOptions): Promise<void> {
    if (env.message.type === MessageType.ChannelSync) this.syncs++;
    return this.inner.publish(env, opts);
  }
  subscribe(...a: Parameters<Bus["subscribe"]>) {
    return this.inner.subscribe(...a);
  }
  close() {
    return this.inner.close();
  }
}

describe("sync requests and replies", () => {
  it("a replayed request is answered once and the answer is not echoed; a replayed reply is not answered", async () => {
    fx = newFixture();
    const counting = new CountingBus(fx.bus);
    const a = fx.party("A", { bus: counting });
    const b = fx.party("B", { bus: counting });
    const [ca, cb] = await fx.open(a, b);
    await ca.update(pay(0, 1n));
    const replay = (reply: boolean) =>
      fx.bus.publish({
        sender: b.wire.address,
        recipient: a.wire.address,
        message: { type: MessageType.ChannelSync, phase: cb.phase, currentTx: cb.current, reply },
      });
    // B's own sync request, replayed to A in B's name: A answers with a reply, B does not answer it.
    await replay(false);
    await eventually(() => counting.syncs === 1, "A answered the request");
    await new Promise((r) => setTimeout(r, 300));
    expect(counting.syncs).toBe(1);
    // A replayed reply (nobody waits for it) is applied but never answered.
    await replay(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(counting.syncs).toBe(1);
    expect(ca.state.version).toBe(1n);
    // A genuine sync afterwards is answered.
    const before = counting.syncs;
    expect(await b.client.sync(cb, { timeoutMs: 2_000 })).toBe("in-sync");
    expect(counting.syncs).toBe(before + 2);
  });
});

describe("rate-limited sync answers", () => {
  it("requests over the per-second limit are answered once, later, instead of dropped", async () => {
    fx = newFixture();
    const counting = new CountingBus(fx.bus);
    const a = fx.party("A", { bus: counting });
    const b = fx.party("B");
    const [, cb] = await fx.open(a, b);
    for (let i = 0; i < 6; i++) {
      await fx.bus.publish({
        sender: b.wire.address,
        recipient: a.wire.address,
        message: { type: MessageType.ChannelSync, phase: cb.phase, currentTx: cb.current, reply: false },
      });
    }
    await eventually(() => counting.syncs === 3, "three answered at once");
    // The other three share one deferred answer, sent once the second is over.
    await eventually(() => counting.syncs === 4, "one deferred answer", 3_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(counting.syncs).toBe(4);
  });
});

describe("hostile sync messages", () => {
  let a: TestParty;
  let b: TestParty;
  let ca: Channel;
  let errors: unknown[];

  async function setup(): Promise<void> {
    fx = newFixture({ serializing: false });
    a = fx.party("A");
    b = fx.party("B");
    [ca] = await fx.open(a, b);
    await ca.update(pay(0, 5n));
    errors = [];
    a.client.onSyncError((e) => errors.push(e));
  }

  const sign = (acc: SimAccount, s: State): Promise<Signature> => fx.backend.sign(acc, s);

  async function send(sender: Address, phase: Phase, state: State, sigs: (Signature | undefined)[]) {
    await fx.bus.publish({
      sender,
      recipient: a.wire.address,
      message: { type: MessageType.ChannelSync, phase, currentTx: { state, sigs }, reply: false },
    });
  }

  function newer(balances: bigint[]): State {
    const s = ca.state;
    return { ...s, version: s.version + 1n, allocation: { ...s.allocation, balances: [balances] } };
  }

  async function expectError<E>(cls: new (...a: never[]) => E, reason: RegExp): Promise<void> {
    await eventually(() => errors.length > 0, "a sync error was reported");
    expect(errors[0]).toBeInstanceOf(cls);
    expect(String((errors[0] as Error).message)).toMatch(reason);
    expect(ca.state.version).toBe(1n);
    expect(ca.state.allocation.balances).toEqual([[95n, 105n]]);
    expect(ca.phase).toBe(Phase.Acting);
  }

  it("a newer state with a forged signature is rejected", async () => {
    await setup();
    const s = newer([0n, 200n]);
    const forger = SimAccount.random();
    await send(b.wire.address, Phase.Acting, s, [await sign(forger, s), await sign(b.participant, s)]);
    await expectError(SyncError, /signature 0 is not participant 0's/);
  });

  it("a newer state missing a signature is rejected", async () => {
    await setup();
    const s = newer([0n, 200n]);
    await send(b.wire.address, Phase.Acting, s, [undefined, await sign(b.participant, s)]);
    await expectError(SyncError, /signature 0 is missing/);
  });

  it("a malformed signature is rejected", async () => {
    await setup();
    const s = newer([0n, 200n]);
    await send(b.wire.address, Phase.Acting, s, [new Uint8Array(3), await sign(b.participant, s)]);
    await expectError(SyncError, /malformed/);
  });

  it("a sync from someone who is not the channel's peer is rejected", async () => {
    await setup();
    const s = newer([0n, 200n]);
    const mallory = SimAccount.random();
    await send(mallory.address, Phase.Acting, s, [
      await sign(a.participant, s),
      await sign(b.participant, s),
    ]);
    await expectError(SyncError, /not the peer/);
  });

  it("a different fully signed state at the same version is a conflict; the own state is kept", async () => {
    await setup();
    const s = { ...ca.state, allocation: { ...ca.state.allocation, balances: [[50n, 150n]] } };
    await send(b.wire.address, Phase.Acting, s, [await sign(a.participant, s), await sign(b.participant, s)]);
    await expectError(SyncConflictError, /different fully signed state at version 1/);
  });

  it("a sync with a wrong slot count is rejected", async () => {
    await setup();
    const s = newer([0n, 200n]);
    await send(b.wire.address, Phase.Acting, s, [await sign(a.participant, s)]);
    await expectError(SyncError, /1 signature slots for 2 participants/);
  });

  it("a newer state signed by both participants is adopted (every signature verified)", async () => {
    await setup();
    const s = newer([90n, 110n]);
    await send(b.wire.address, Phase.Acting, s, [await sign(a.participant, s), await sign(b.participant, s)]);
    await eventually(() => ca.state.version === 2n, "adopted");
    expect(ca.state.allocation.balances).toEqual([[90n, 110n]]);
    expect(errors).toEqual([]);
  });
});
