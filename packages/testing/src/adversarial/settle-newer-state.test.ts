// Regression (issue 13): the honest party's update was sent, but its wait ended early; the peer
// enabled it and registered it on chain. `settle()` must conclude with that registered state (which
// the honest party signed), not with its own older current state ("invalid channel state").
import { selectSecp256k1 } from "@perun-ts/backend-sim";
import { type Signature, type State, transfer } from "@perun-ts/core";
import { type Envelope, MessageType } from "@perun-ts/wire";
import { expect, it } from "vitest";
import { AdversaryWorld, WORLD_CHALLENGE } from "./adversary-world.js";
import { RejectionMonitor } from "./rejection-monitor.js";

it("settles with a newer registered state it signed", async () => {
  const monitor = new RejectionMonitor().install();
  const w = await AdversaryWorld.create(
    {
      honestIdx: 0,
      proposer: "honest",
      balances: [100n, 100n],
      secp256k1: selectSecp256k1({ prefer: "native" }),
    },
    monitor,
  );
  try {
    const h = w.honest;
    // The adversary goes silent on its real client and listens raw.
    await w.adversary.client.close();
    const ctrl = new AbortController();
    let sent: { state: State; sig: Signature } | undefined;
    w.bus.subscribe(w.adversary.wire.address, (env: Envelope) => {
      const m = env.message;
      if (m.type === MessageType.ChannelUpdate && !sent) {
        sent = { state: m.state, sig: m.sig };
        ctrl.abort(new Error("user gives up waiting")); // the honest user's timeout fires
      }
    });
    // The honest party pays 10 (version 1); its wait is aborted after sending.
    const paying = h.channel
      .update(
        (s) => {
          const next = { ...s, allocation: transfer(s.allocation, 0, 1, [10n]) };
          h.consent.consent({ ...next, version: s.version + 1n });
          return next;
        },
        { signal: ctrl.signal },
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(await paying).toBeInstanceOf(Error);
    expect(h.channel.state.version).toBe(0n);
    // The adversary enables version 1 (adds its signature) and registers it.
    const x = sent as { state: State; sig: Signature };
    const tx = { state: x.state, sigs: [x.sig, await w.backend.sign(w.adversary.participant, x.state)] };
    await w.adversary.adjudicator.register(
      { params: h.channel.params, account: w.adversary.participant, tx, idx: 1, secondary: false },
      [],
      {},
    );
    const settling = h.channel.settle();
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 10));
      w.clock.advance(WORLD_CHALLENGE);
    }
    await settling;
    // Paid by version 1, its own payment of 10.
    expect(w.honestPayout()).toBe(90n);
    await monitor.check("settle with a newer registered state");
  } finally {
    await w.close();
    monitor.uninstall();
  }
});
