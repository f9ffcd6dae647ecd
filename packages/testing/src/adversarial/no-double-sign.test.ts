// Regression (issue 13): an update aborted after it was sent used to be discarded, and the client
// then signed the peer's different update of the same version — the peer held both fully signed
// and could register the one worse for the honest party. The sent update now stays pending until
// the peer's answer or a sync decides it; no other state of its version is signed meanwhile.
import { selectSecp256k1 } from "@perun-ts/backend-sim";
import { channelIdEquals, type Signature, type State, stateEquals, transfer } from "@perun-ts/core";
import { type Envelope, MessageType } from "@perun-ts/wire";
import { expect, it } from "vitest";
import { AdversaryWorld, WORLD_CHALLENGE } from "./adversary-world.js";
import { RejectionMonitor } from "./rejection-monitor.js";

it("never signs two different states of the same version", async () => {
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
    const rejected: bigint[] = [];
    w.bus.subscribe(w.adversary.wire.address, (env: Envelope) => {
      const m = env.message;
      if (m.type === MessageType.ChannelUpdate && !sent) {
        sent = { state: m.state, sig: m.sig };
        ctrl.abort(new Error("user gives up waiting")); // the honest user's timeout fires
      }
      if (m.type === MessageType.ChannelUpdateRej) rejected.push(m.version);
    });
    // 1. The honest party pays 10 (version 1 = X); its wait is aborted after sending.
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
    // 2. The adversary proposes a different version 1 (Y: a gift of 1, which the user would take).
    const cur = h.channel.state;
    const y: State = { ...cur, version: 1n, allocation: transfer(cur.allocation, 1, 0, [1n]) };
    await w.inject({
      type: MessageType.ChannelUpdate,
      state: y,
      actorIdx: 1,
      sig: await w.backend.sign(w.adversary.participant, y),
    });
    for (let i = 0; i < 200 && !rejected.includes(1n); i++) await new Promise((r) => setTimeout(r, 5));
    // Y is refused while X is undecided: the honest party signed exactly one state of version 1.
    expect(rejected).toContain(1n);
    expect(h.channel.state.version).toBe(0n);
    const signedV1 = h.consent.signedStates.filter((s) => channelIdEquals(s.id, cur.id) && s.version === 1n);
    expect(signedV1.length).toBeGreaterThan(0);
    expect(signedV1.every((s) => stateEquals(s, signedV1[0] as State))).toBe(true);
    // 3. The adversary registers X, fully signed by both; the dispute ends with it.
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
    // Paid by X, the payment the honest party itself proposed and signed.
    expect(w.honestPayout()).toBe(90n);
    expect(h.consent.violations).toEqual([]);
    await monitor.check("no double signing");
  } finally {
    await w.close();
    monitor.uninstall();
  }
});
