import { SimAccount } from "@perun-ts/backend-sim";
import type { State } from "@perun-ts/core";
import { type Bus, type Envelope, type Message, MessageType, type PublishOptions } from "@perun-ts/wire";
import { afterEach, expect, it } from "vitest";
import { eventually, type Fixture, newFixture, pay } from "./client-fixture.test-helper.js";

let fx: Fixture;
afterEach(async () => {
  await fx?.close();
});

/** Holds back the first envelope matching `pred` until `release` is called. */
class HoldingBus implements Bus {
  #held: (() => void) | undefined;
  held = false;
  constructor(
    readonly inner: Bus,
    readonly pred: (m: Message) => boolean,
  ) {}
  publish(env: Envelope, opts?: PublishOptions): Promise<void> {
    if (!this.held && this.pred(env.message)) {
      this.held = true;
      return new Promise<void>((resolve, reject) => {
        this.#held = () => this.inner.publish(env, opts).then(resolve, reject);
      });
    }
    return this.inner.publish(env, opts);
  }
  release(): void {
    this.#held?.();
  }
  subscribe(...a: Parameters<Bus["subscribe"]>) {
    return this.inner.subscribe(...a);
  }
  close() {
    return this.inner.close();
  }
}

// Regression (issue 13): the rejection of a third party's update went to the channel peer, where it
// ended the wait of the peer's own update of that version.
it("an update from a non-participant is rejected to its sender, not to the channel peer", async () => {
  fx = newFixture();
  const a = fx.party("A");
  const holding = new HoldingBus(fx.bus, (m) => m.type === MessageType.ChannelUpdate);
  const b = fx.party("B", { bus: holding });
  const [ca, cb] = await fx.open(a, b);
  // B's update of version 1 is on its way (held back); B waits for A's answer.
  const updating = cb.update(pay(1, 3n), { signal: AbortSignal.timeout(5_000) });
  await eventually(() => holding.held, "B sent its update");
  // A stranger sends A an update of the same channel and version.
  const stranger = SimAccount.random();
  const got: Message[] = [];
  const off = fx.bus.subscribe(stranger.address, (env) => {
    got.push(env.message);
  });
  try {
    const s: State = { ...ca.state, version: 1n };
    await fx.bus.publish({
      sender: stranger.address,
      recipient: a.wire.address,
      message: { type: MessageType.ChannelUpdate, state: s, actorIdx: 1, sig: new Uint8Array(65).fill(1) },
    });
    await eventually(() => got.length > 0, "the stranger got an answer");
    expect(got[0]?.type).toBe(MessageType.ChannelUpdateRej);
    holding.release();
    await updating; // not ended by a rejection meant for the stranger
    expect(ca.state.version).toBe(1n);
    expect(cb.state.allocation.balances).toEqual(ca.state.allocation.balances);
  } finally {
    off();
  }
});
