// Random operation sequences on the state machine: every successful operation moves along an edge
// of the transition table (or keeps the phase, for sig/addSig), and every failing operation
// throws a PerunError and leaves the machine exactly as it was.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PerunError } from "./errors.js";
import type { Account } from "./identity.js";
import {
  isPhaseTransitionAllowed,
  type MachineOperation,
  OPERATION_PHASES,
  StateMachine,
} from "./machine.js";
import {
  alice,
  backend,
  bob,
  carol,
  makeAllocation,
  makeParams,
  next,
  pay,
} from "./machine-fixture.test-helper.js";
import { Phase } from "./phase.js";
import type { State } from "./state.js";

const seed = Number(process.env.FC_SEED) || Date.now() % 2 ** 31;
console.info(`machine.prop.test.ts: fast-check seed ${seed} (set FC_SEED to reproduce)`);

const params = makeParams();
const signers: Account[] = [alice, bob, carol];

type Op = MachineOperation | "checkUpdate";

type Step = {
  /** "advance" picks an operation that makes progress from the current phase (resolved at run time). */
  readonly op: Op | "advance";
  /** Drives argument choices: which signer, which participant slot, valid or broken state. */
  readonly k: number;
  readonly amount: bigint;
};

const step: fc.Arbitrary<Step> = fc.record({
  op: fc.oneof(
    {
      arbitrary: fc.constantFrom<Step["op"]>(
        ...(Object.keys(OPERATION_PHASES) as MachineOperation[]),
        "checkUpdate",
      ),
      weight: 1,
    },
    { arbitrary: fc.constant<Step["op"]>("advance"), weight: 2 },
  ),
  k: fc.nat({ max: 11 }),
  amount: fc.bigInt({ min: 0n, max: 12n }),
});

/** A candidate follow-up state: mostly valid, sometimes final, sometimes broken. */
function candidate(m: StateMachine, s: Step): State {
  const cur = m.current.state ?? m.staging.state ?? { ...makeAllocationState(), version: 0n };
  const from = s.k % 2;
  const allocation =
    cur.allocation.balances[0]?.[from] !== undefined &&
    (cur.allocation.balances[0]?.[from] as bigint) >= s.amount
      ? pay(cur, from, 1 - from, s.amount)
      : cur.allocation;
  switch (s.k % 6) {
    case 0:
      return next(cur, { allocation, isFinal: true });
    case 1:
      return { ...cur, version: cur.version + 2n };
    default:
      return next(cur, { allocation });
  }
}

function makeAllocationState(): State {
  return {
    id: params.id,
    version: 0n,
    app: params.app,
    allocation: makeAllocation(),
    data: new Uint8Array(),
    isFinal: false,
  };
}

/** An operation that usually succeeds in the machine's phase; `k` chooses among alternatives. */
function advance(m: StateMachine, k: number): Op {
  const pick = (...ops: Op[]): Op => ops[k % ops.length] as Op;
  const missing = m.staging.sigs.indexOf(undefined);
  const signStep = (): Op => (m.staging.sigs[0] === undefined ? "sig" : "addSig");
  switch (m.phase) {
    case Phase.InitActing:
      return "init";
    case Phase.InitSigning:
      return missing < 0 ? "enableInit" : signStep();
    case Phase.Funding:
      return pick("setFunded", "setFunded", "setFunded", "setRegistering");
    case Phase.Acting:
      return pick("update", "update", "update", "setRegistering", "setRegistered");
    case Phase.Signing:
      if (missing >= 0) return signStep();
      return m.staging.state?.isFinal ? "enableFinal" : pick("enableUpdate", "enableUpdate", "discardUpdate");
    case Phase.Final:
      return pick("setWithdrawing", "setRegistering");
    case Phase.Registering:
      return "setRegistered";
    case Phase.Registered:
      return pick("setProgressing", "setWithdrawing", "setRegistering", "setProgressed");
    case Phase.Progressing:
      return pick("sig", "setProgressed", "setRegistered");
    case Phase.Progressed:
      return pick("setWithdrawing", "setProgressing", "setProgressed", "setRegistering");
    case Phase.Withdrawing:
      return pick("setWithdrawn", "setWithdrawing");
    case Phase.Withdrawn:
      return "checkUpdate";
  }
}

async function run(m: StateMachine, s: Step & { readonly op: Op }): Promise<void> {
  switch (s.op) {
    case "init":
      return m.init(makeAllocation());
    case "sig":
      await m.sig();
      return;
    case "addSig": {
      // Mostly Bob's valid signature for slot 1; otherwise a random signer for a random slot.
      const valid = s.k < 9;
      const signer = valid ? bob : (signers[s.k % 3] as Account);
      const target = m.staging.state ?? makeAllocationState();
      return m.addSig(valid ? 1 : s.k % 3, await backend.sign(signer, target));
    }
    case "checkUpdate": {
      const st = candidate(m, s);
      return m.checkUpdate(st, 1, await backend.sign(signers[s.k % 3] as Account, st), 1);
    }
    case "update":
      return m.update(candidate(m, s), s.k % 4 === 3 ? 2 : s.k % 2);
    case "forceUpdate":
      return m.forceUpdate(candidate(m, s));
    case "setProgressing":
      return m.setProgressing(candidate(m, s));
    case "setProgressed":
      return m.setProgressed(candidate(m, s));
    default:
      return m[s.op]();
  }
}

describe("StateMachine under random operation sequences", () => {
  it("never leaves the transition table; failures leave it unchanged", async () => {
    const reached = new Set<Phase>();
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 10, maxLength: 60, size: "max" }), async (steps) => {
        const m = new StateMachine(params, alice, 0, backend);
        for (const raw of steps) {
          const s = { ...raw, op: raw.op === "advance" ? advance(m, raw.k) : raw.op };
          const before = { phase: m.phase, current: m.current, staging: m.staging };
          let failed: unknown;
          try {
            await run(m, s);
          } catch (e) {
            failed = e;
          }
          if (failed !== undefined) {
            expect(failed).toBeInstanceOf(PerunError);
            expect(m.phase).toBe(before.phase);
            expect(m.current).toBe(before.current);
            expect(m.staging).toBe(before.staging);
            continue;
          }
          reached.add(m.phase);
          if (s.op === "checkUpdate" || s.op === "sig" || s.op === "addSig") {
            expect(m.phase).toBe(before.phase);
            if (s.op === "checkUpdate") {
              expect(m.current).toBe(before.current);
              expect(m.staging).toBe(before.staging);
            }
          } else {
            expect(OPERATION_PHASES[s.op].from).toContain(before.phase);
            expect(m.phase).toBe(OPERATION_PHASES[s.op].to);
            expect(isPhaseTransitionAllowed(before.phase, m.phase)).toBe(true);
          }
          // Before any dispute, the current state is always fully signed.
          if ([Phase.Funding, Phase.Acting, Phase.Signing, Phase.Final].includes(m.phase)) {
            expect(m.current.sigs.every((x) => x !== undefined)).toBe(true);
          }
        }
      }),
      { seed, numRuns: 300 },
    );
    // The generator must actually exercise the machine beyond the opening phases.
    for (const p of [
      Phase.Acting,
      Phase.Signing,
      Phase.Final,
      Phase.Registered,
      Phase.Progressed,
      Phase.Withdrawn,
    ]) {
      expect(reached.has(p), `phase ${Phase[p]} reached`).toBe(true);
    }
  });
});
