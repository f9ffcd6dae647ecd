import { describe, expect, it } from "vitest";
import { Deferred } from "./async.js";
import type { ChannelBackend } from "./channel-backend.js";
import {
  InvalidSignatureError,
  PerunError,
  PhaseTransitionError,
  SignatureError,
  StateTransitionError,
  ValidationError,
} from "./errors.js";
import type { Account } from "./identity.js";
import {
  isPhaseTransitionAllowed,
  type MachineOperation,
  OPERATION_PHASES,
  PHASE_EDGES,
  SIGNING_PHASES,
  StateMachine,
} from "./machine.js";
import {
  alice,
  backend,
  bob,
  CountingBackend,
  carol,
  exchange,
  makeAllocation,
  makeParams,
  next,
  openPair,
  pay,
} from "./machine-fixture.test-helper.js";
import type { ChannelSource } from "./persistence.js";
import { PHASE_COUNT, Phase, phaseName } from "./phase.js";
import { makeInitialState, type State, stateEquals } from "./state.js";
import type { Transaction } from "./transaction.js";
import { TransitionRule } from "./validity.js";

const params = makeParams();
const v0 = makeInitialState(params, makeAllocation());
const v1 = next(v0, { allocation: pay(v0, 0, 1, 2n) });
const v2 = next(v1, { allocation: pay(v1, 1, 0, 1n) });

async function signedBy(state: State, ...accounts: Account[]): Promise<Transaction> {
  return { state, sigs: await Promise.all(accounts.map((a) => backend.sign(a, state))) };
}

const empty: Transaction = { state: undefined, sigs: [] };

/** A consistent persisted view for every phase (used to place a machine in any phase). */
async function sourceIn(phase: Phase): Promise<ChannelSource> {
  const base = { id: params.id, idx: 0, params, phase };
  const cur = await signedBy(v1, alice, bob);
  const stagedFull = await signedBy(v2, alice, bob);
  switch (phase) {
    case Phase.InitActing:
      return { ...base, current: empty, staging: empty };
    case Phase.InitSigning:
      return { ...base, current: empty, staging: await signedBy(v0, alice, bob) };
    case Phase.Signing:
    case Phase.Progressing:
      return { ...base, current: cur, staging: stagedFull };
    default:
      return { ...base, current: cur, staging: empty };
  }
}

/** Snapshot of everything observable; compared by identity of the immutable transactions. */
function snapshot(m: StateMachine) {
  return { phase: m.phase, current: m.current, staging: m.staging };
}

const ALL_PHASES: Phase[] = Array.from({ length: PHASE_COUNT }, (_, i) => i as Phase);

/** Calls `op` with arguments that are valid apart from the phase. */
async function call(m: StateMachine, op: MachineOperation): Promise<unknown> {
  switch (op) {
    case "init":
      return m.init(makeAllocation());
    case "sig":
      return m.sig();
    case "addSig":
      return m.addSig(1, await backend.sign(bob, m.staging.state ?? v0));
    case "enableInit":
      return m.enableInit();
    case "setFunded":
      return m.setFunded();
    case "update":
      return m.update(next(m.current.state ?? v0), 0);
    case "forceUpdate":
      return m.forceUpdate(next(m.current.state ?? v0));
    case "discardUpdate":
      return m.discardUpdate();
    case "enableUpdate":
      return m.enableUpdate();
    case "enableFinal":
      return m.enableFinal();
    case "setRegistering":
      return m.setRegistering();
    case "setRegistered":
      return m.setRegistered();
    case "setProgressing":
      return m.setProgressing(next(m.current.state ?? v0));
    case "setProgressed":
      return m.setProgressed(next(m.current.state ?? v0));
    case "setWithdrawing":
      return m.setWithdrawing();
    case "setWithdrawn":
      return m.setWithdrawn();
  }
}

describe("transition table", () => {
  it("contains the declared go-perun edges and the TS edges of spec §3.2", () => {
    const P = Phase;
    const required: [Phase, Phase][] = [
      [P.InitActing, P.InitSigning],
      [P.InitSigning, P.Funding],
      [P.Funding, P.Acting],
      [P.Acting, P.Signing],
      [P.Signing, P.Acting],
      [P.Signing, P.Final],
      ...[P.Funding, P.Acting, P.Signing, P.Final].map((f): [Phase, Phase] => [f, P.Registering]),
      ...[P.Funding, P.Acting, P.Signing, P.Final, P.Registering].map((f): [Phase, Phase] => [
        f,
        P.Registered,
      ]),
      [P.Registered, P.Withdrawing],
      [P.Registered, P.Progressed],
      [P.Progressing, P.Progressed],
      [P.Progressed, P.Withdrawing],
      [P.Withdrawing, P.Withdrawn],
      [P.Registered, P.Registering],
      [P.Registered, P.Progressing],
      [P.Progressed, P.Progressing],
      [P.Progressing, P.Registered],
      [P.Withdrawing, P.Withdrawing],
      [P.Final, P.Withdrawing],
    ];
    for (const [f, t] of required)
      expect(isPhaseTransitionAllowed(f, t), `${phaseName(f)}→${phaseName(t)}`).toBe(true);
  });

  it("has no shortcuts: nothing leaves Withdrawn, nothing goes back to opening phases", () => {
    for (const to of ALL_PHASES) expect(isPhaseTransitionAllowed(Phase.Withdrawn, to)).toBe(false);
    for (const from of ALL_PHASES) {
      expect(isPhaseTransitionAllowed(from, Phase.InitActing)).toBe(false);
      if (from !== Phase.InitActing) expect(isPhaseTransitionAllowed(from, Phase.InitSigning)).toBe(false);
    }
    expect(isPhaseTransitionAllowed(Phase.Funding, Phase.Withdrawing)).toBe(false);
    expect(isPhaseTransitionAllowed(Phase.Acting, Phase.Final)).toBe(false);
  });

  it("every operation moves only along table edges, and every edge has an operation", () => {
    const used = new Set<string>();
    for (const { from, to } of Object.values(OPERATION_PHASES)) {
      for (const f of from) {
        if (to !== undefined) {
          expect(isPhaseTransitionAllowed(f, to)).toBe(true);
          used.add(`${f}>${to}`);
        }
      }
    }
    for (const [f, t] of PHASE_EDGES)
      expect(used.has(`${f}>${t}`), `${phaseName(f)}→${phaseName(t)}`).toBe(true);
  });
});

describe("illegal phase transitions (every operation × every phase it is not allowed in)", () => {
  const cases = (Object.keys(OPERATION_PHASES) as MachineOperation[]).flatMap((op) =>
    ALL_PHASES.filter((p) => !OPERATION_PHASES[op].from.includes(p)).map((p) => [op, p] as const),
  );

  it.each(cases)("%s in phase %i → PhaseTransitionError, machine unchanged", async (op, phase) => {
    const m = StateMachine.restore(await sourceIn(phase), alice, backend);
    const before = snapshot(m);
    const err = await Promise.resolve()
      .then(() => call(m, op))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(PhaseTransitionError);
    const pe = err as PhaseTransitionError;
    expect(pe.operation).toBe(op);
    expect(pe.current).toBe(phaseName(phase));
    expect(pe.expected).toContain(OPERATION_PHASES[op].from.map(phaseName).join("|"));
    expect(snapshot(m)).toEqual(before);
    expect(m.current).toBe(before.current);
    expect(m.staging).toBe(before.staging);
  });

  const allowed = (Object.keys(OPERATION_PHASES) as MachineOperation[]).flatMap((op) =>
    OPERATION_PHASES[op].from.map((p) => [op, p] as const),
  );

  it.each(allowed)("%s in phase %i passes the phase check and lands on a table edge", async (op, phase) => {
    const m = StateMachine.restore(await sourceIn(phase), alice, backend);
    const err = await Promise.resolve()
      .then(() => call(m, op))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).not.toBeInstanceOf(PhaseTransitionError);
    if (err === undefined) {
      const to = OPERATION_PHASES[op].to;
      expect(m.phase).toBe(to ?? phase);
      if (to !== undefined) expect(isPhaseTransitionAllowed(phase, to)).toBe(true);
    }
  });
});

describe("StateMachine: opening, updates and settlement", () => {
  it("opens a channel: init, exchange signatures, enableInit, setFunded", async () => {
    const [a, b] = await openPair();
    for (const m of [a, b]) {
      expect(m.phase).toBe(Phase.Acting);
      expect(m.current.state?.version).toBe(0n);
      expect(m.current.sigs.every((s) => s instanceof Uint8Array)).toBe(true);
      expect(m.staging.state).toBeUndefined();
    }
    expect(a.current.sigs).toEqual(b.current.sigs);
  });

  it("runs updates and a final update to Final, then withdraws", async () => {
    const [a, b] = await openPair();
    const s1 = next(a.current.state as State, { allocation: pay(a.current.state as State, 0, 1, 4n) });
    await exchange(a, b, s1);
    expect(a.phase).toBe(Phase.Acting);
    expect(b.current.state?.version).toBe(1n);
    expect(b.current.state?.allocation.balances[0]).toEqual([6n, 14n]);
    const s2 = next(s1, { isFinal: true });
    await exchange(b, a, s2);
    expect([a.phase, b.phase]).toEqual([Phase.Final, Phase.Final]);
    // A final state can never be followed by another update.
    expect(() => a.setFunded()).toThrow(PhaseTransitionError);
    a.setWithdrawing();
    a.setWithdrawing();
    a.setWithdrawn();
    expect(a.phase).toBe(Phase.Withdrawn);
  });

  it("rejects an invalid update with StateTransitionError and stays unchanged", async () => {
    const [a] = await openPair();
    const before = snapshot(a);
    const minted = next(a.current.state as State, {
      allocation: {
        ...makeAllocation(),
        balances: [
          [11n, 10n],
          [5n, 7n],
        ],
      },
    });
    expect(() => a.update(minted, 0)).toThrow(StateTransitionError);
    expect(() => a.update(next(a.current.state as State), 5)).toThrow(/actor index/);
    expect(snapshot(a)).toEqual(before);
  });

  it("discardUpdate drops the staged state and returns to Acting", async () => {
    const [a] = await openPair();
    a.update(next(a.current.state as State), 0);
    await a.sig();
    a.discardUpdate();
    expect(a.phase).toBe(Phase.Acting);
    expect(a.staging.state).toBeUndefined();
    expect(a.current.state?.version).toBe(0n);
  });

  it("keeps its own copy of staged states (later mutation by the caller has no effect)", async () => {
    const [a] = await openPair();
    const s1 = next(a.current.state as State, { allocation: pay(a.current.state as State, 0, 1, 1n) });
    a.update(s1, 0);
    (s1.allocation.balances[0] as bigint[])[0] = 1000n;
    expect(a.staging.state?.allocation.balances[0]).toEqual([9n, 11n]);
  });

  it("a held state shares the channel id with the params and keeps equal content", async () => {
    const [a] = await openPair();
    const from = a.current.state as State;
    const s1 = next(from, { id: from.id.slice(), allocation: pay(from, 0, 1, 1n) });
    a.update(s1, 0);
    const staged = a.staging.state as State;
    expect(staged.id).toBe(a.params.id);
    expect(stateEquals(staged, s1)).toBe(true);
    expect(staged.allocation).not.toBe(s1.allocation);
  });

  it("enable* require all signatures and matching finality", async () => {
    const [a, b] = await openPair();
    const s1 = next(a.current.state as State);
    a.update(s1, 0);
    await a.sig();
    const before = snapshot(a);
    expect(() => a.enableUpdate()).toThrow(/missing signatures of participants 1/);
    await a.addSig(1, await backend.sign(bob, s1));
    expect(() => a.enableFinal()).toThrow(/not final/);
    expect(a.phase).toBe(Phase.Signing);
    a.enableUpdate();
    expect(before.phase).toBe(Phase.Signing);

    const fin = next(s1, { isFinal: true });
    b.update(s1, 0);
    await b.addSig(0, await backend.sign(alice, s1));
    await b.sig();
    b.enableUpdate();
    b.update(fin, 1);
    await b.sig();
    await b.addSig(0, await backend.sign(alice, fin));
    expect(() => b.enableUpdate()).toThrow(/is final/);
    b.enableFinal();
    expect(b.phase).toBe(Phase.Final);
  });

  it("rejects a wrong index or an account that is not the participant", () => {
    expect(() => new StateMachine(params, alice, 1, backend)).toThrow(ValidationError);
    expect(() => new StateMachine(params, carol, 0, backend)).toThrow(ValidationError);
    expect(() => new StateMachine(params, alice, 2, backend)).toThrow(ValidationError);
  });
});

describe("StateMachine: signatures", () => {
  it("sig() signs once and caches the signature", async () => {
    const be = new CountingBackend();
    const m = new StateMachine(params, alice, 0, be);
    m.init(makeAllocation());
    const s = await m.sig();
    expect(await m.sig()).toBe(s);
    expect(be.signs).toBe(1);
    expect(m.staging.sigs[0]).toBe(s);
  });

  it("addSig rejects wrong, malformed, out-of-range and duplicate signatures, leaving the machine unchanged", async () => {
    const m = new StateMachine(params, alice, 0, backend);
    m.init(makeAllocation());
    const staged = m.staging.state as State;
    const good = await backend.sign(bob, staged);
    const reject = async (idx: number, sig: Uint8Array, reason: RegExp) => {
      const before = snapshot(m);
      const err = await m.addSig(idx, sig).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InvalidSignatureError);
      expect((err as InvalidSignatureError).reason).toMatch(reason);
      expect(snapshot(m)).toEqual(before);
      return err as InvalidSignatureError;
    };
    await reject(1, await backend.sign(carol, staged), /not a signature/);
    await reject(1, await backend.sign(bob, next(staged)), /not a signature/);
    await reject(1, good.slice(0, 20), /wrong length/);
    const garbled = good.slice();
    garbled[32] = 7; // FakeBackend.verify throws SignatureError for this
    const e = await reject(1, garbled, /^malformed signature$/);
    expect(e.cause).toBeInstanceOf(SignatureError);
    await reject(2, good, /no such participant/);
    await m.addSig(1, good);
    await reject(1, good, /already filled/);
  });

  it("checkUpdate is read-only and verifies the signature; addSig then skips re-verification", async () => {
    const be = new CountingBackend();
    const [a, b] = await openPair(params, be);
    const s1 = next(a.current.state as State, { allocation: pay(a.current.state as State, 0, 1, 1n) });
    a.update(s1, 0);
    const sig = await a.sig();
    const before = snapshot(b);
    be.verifies = 0;
    await b.checkUpdate(s1, 0, sig, 0);
    expect(snapshot(b)).toEqual(before);
    b.update(s1, 0);
    await b.addSig(0, sig);
    expect(be.verifies).toBe(1);
  });

  it("checkUpdate rejects invalid states and signatures", async () => {
    const [a, b] = await openPair();
    const s1 = next(a.current.state as State);
    const sig = await backend.sign(alice, s1);
    await expect(b.checkUpdate(s1, 0, await backend.sign(carol, s1), 0)).rejects.toBeInstanceOf(
      InvalidSignatureError,
    );
    await expect(b.checkUpdate(s1, 0, sig, 1)).rejects.toBeInstanceOf(InvalidSignatureError);
    await expect(b.checkUpdate({ ...s1, version: 3n }, 0, sig, 0)).rejects.toBeInstanceOf(
      StateTransitionError,
    );
    const fresh = new StateMachine(params, bob, 1, backend);
    await expect(fresh.checkUpdate(s1, 0, sig, 0)).rejects.toThrow(/no current state/);
  });

  it("the checkUpdate memo never lets an unverified state through", async () => {
    const be = new CountingBackend();
    const [a, b] = await openPair(params, be);
    const s1 = next(a.current.state as State, { allocation: pay(a.current.state as State, 0, 1, 1n) });
    const sig = await backend.sign(alice, s1);
    await b.checkUpdate(s1, 0, sig, 0);
    // The caller mutates its state after the check and stages that instead.
    (s1.allocation.balances[0] as bigint[])[0] = 8n;
    (s1.allocation.balances[0] as bigint[])[1] = 12n;
    b.update(s1, 0);
    await expect(b.addSig(0, sig)).rejects.toBeInstanceOf(InvalidSignatureError);
  });

  it("an async operation fails if the staging state was replaced while it awaited the backend", async () => {
    const gate = new Deferred<void>();
    const slow: ChannelBackend = {
      ...backend,
      signatureLength: backend.signatureLength,
      calcId: (p) => backend.calcId(p),
      decodeAddress: (x) => backend.decodeAddress(x),
      decodeAsset: (x) => backend.decodeAsset(x),
      verify: (s, st, sig) => backend.verify(s, st, sig),
      sign: async (acc, st) => {
        await gate.promise;
        return backend.sign(acc, st);
      },
    };
    const [a] = await openPair(params, backend);
    const m = StateMachine.restore(a.source(), alice, slow);
    m.update(next(m.current.state as State), 0);
    const pending = m.sig();
    m.discardUpdate();
    m.update(next(m.current.state as State, { allocation: pay(m.current.state as State, 0, 1, 1n) }), 0);
    const staged = m.staging;
    gate.resolve();
    await expect(pending).rejects.toThrow(PerunError);
    await expect(pending).rejects.toThrow(/changed concurrently/);
    expect(m.staging).toBe(staged);
    expect(m.staging.sigs[0]).toBeUndefined();
  });
});

describe("StateMachine: disputes", () => {
  it("register → progress → progressed → withdraw", async () => {
    const [a] = await openPair();
    a.setRegistering();
    a.setRegistering(); // retry
    a.setRegistered();
    a.setRegistered(); // a further Registered event
    const cur = a.current.state as State;
    const p1 = next(cur, { allocation: pay(cur, 0, 1, 1n) });
    expect(() => a.setProgressing({ ...p1, version: 5n })).toThrow(StateTransitionError);
    expect(a.phase).toBe(Phase.Registered);
    a.setProgressing(p1);
    expect(SIGNING_PHASES).toContain(a.phase);
    const sig = await a.sig();
    expect(await backend.verify(alice.address, p1, sig)).toBe(true);
    a.setProgressed(p1);
    expect(a.phase).toBe(Phase.Progressed);
    expect(a.current.state?.version).toBe(1n);
    expect(a.current.sigs.every((s) => s === undefined)).toBe(true);
    expect(a.staging.state).toBeUndefined();
    expect(() => a.setProgressed({ ...p1, id: new Uint8Array(32) })).toThrow(TransitionRule.id);
    a.setProgressed(next(p1)); // another force-execution step
    a.setWithdrawing();
    a.setWithdrawn();
    expect(a.phase).toBe(Phase.Withdrawn);
  });

  it("forceUpdate stages without validity rules but checks the channel id", async () => {
    const [a] = await openPair();
    const weird = { ...(a.current.state as State), version: 42n };
    a.forceUpdate(weird);
    expect(a.phase).toBe(Phase.Signing);
    expect(a.staging.state?.version).toBe(42n);
    a.discardUpdate();
    expect(() => a.forceUpdate({ ...weird, id: new Uint8Array(32) })).toThrow(StateTransitionError);
  });
});

describe("StateMachine: persistence view and restore", () => {
  it("source() round-trips through restore in every phase", async () => {
    for (const phase of ALL_PHASES) {
      const src = await sourceIn(phase);
      const m = StateMachine.restore(src, alice, backend);
      const out = m.source();
      expect(out.phase).toBe(phase);
      expect(out.idx).toBe(0);
      expect(out.current).toEqual(src.current);
      expect(out.staging).toEqual(src.staging);
      const again = StateMachine.restore(out, alice, backend);
      expect(again.source()).toEqual(out);
    }
  });

  it("a restored machine continues the protocol", async () => {
    const [a, b] = await openPair();
    const a2 = StateMachine.restore(a.source(), alice, backend);
    const s1 = next(a2.current.state as State, { allocation: pay(a2.current.state as State, 1, 0, 3n) });
    await exchange(b, a2, s1);
    expect(a2.current.state?.allocation.balances[0]).toEqual([13n, 7n]);
  });

  it("rejects inconsistent sources with ValidationError", async () => {
    const acting = await sourceIn(Phase.Acting);
    const signing = await sourceIn(Phase.Signing);
    const other = makeParams({ nonce: 99n });
    const bad: [string, ChannelSource, Account?][] = [
      ["unknown phase", { ...acting, phase: 12 as Phase }],
      ["id mismatch", { ...acting, id: other.id }],
      ["wrong account", acting, bob],
      ["index out of range", { ...acting, idx: 5 }],
      ["acting without current", { ...acting, current: empty }],
      ["signing without staging", { ...signing, staging: empty }],
      ["InitActing with a state", { ...acting, phase: Phase.InitActing }],
      [
        "state of another channel",
        { ...acting, current: { ...acting.current, state: { ...v1, id: other.id } } },
      ],
      ["slot count", { ...acting, current: { ...acting.current, sigs: [acting.current.sigs[0]] } }],
      ["malformed sig", { ...acting, current: { ...acting.current, sigs: [new Uint8Array(3), undefined] } }],
      ["sigs without state", { ...acting, staging: { state: undefined, sigs: acting.current.sigs } }],
      ["params not Params", { ...acting, params: { ...params } as unknown as ChannelSource["params"] }],
    ];
    for (const [name, src, acc] of bad) {
      expect(() => StateMachine.restore(src, acc ?? alice, backend), name).toThrow(ValidationError);
    }
  });
});
