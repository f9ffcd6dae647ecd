import { describe, expect, it } from "vitest";
import type { Allocation } from "./allocation.js";
import { PaymentApp } from "./app.js";
import { StateTransitionError } from "./errors.js";
import { FakeAsset } from "./fake-backend.test-helper.js";
import { MAX_UINT64 } from "./limits.js";
import { appAddress, makeAllocation, makeParams, next, pay } from "./machine-fixture.test-helper.js";
import type { Params } from "./params.js";
import { makeInitialState, type State } from "./state.js";
import {
  checkGenericTransition,
  checkTransition,
  checkTwoPartyUpdate,
  TransitionRule,
  TwoPartyRule,
} from "./validity.js";

const params = makeParams();
const v0 = makeInitialState(params, makeAllocation());

function reasonOf(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(StateTransitionError);
    return (e as StateTransitionError).reason;
  }
  throw new Error("expected a StateTransitionError");
}

function withBalances(s: State, balances: bigint[][], locked: Allocation["locked"] = []): Allocation {
  return { assets: s.allocation.assets, balances, locked };
}

describe("checkTransition: one rejected example per generic rule, in order", () => {
  it("accepts a valid payment", () => {
    expect(() => checkTransition(params, v0, next(v0, { allocation: pay(v0, 0, 1, 3n) }), 0)).not.toThrow();
  });

  it("1. id must match the params", () => {
    const to = next(v0, { id: new Uint8Array(32).fill(9) });
    expect(reasonOf(() => checkTransition(params, v0, to, 0))).toBe(TransitionRule.id);
  });

  it("2. app must match the params' app", () => {
    const to = next(v0, { app: new PaymentApp(appAddress) });
    expect(reasonOf(() => checkTransition(params, v0, to, 0))).toBe(TransitionRule.app);
  });

  it("3. the current state must not be final", () => {
    const from = { ...v0, isFinal: true };
    expect(reasonOf(() => checkTransition(params, from, next(from, { isFinal: false }), 0))).toBe(
      TransitionRule.final,
    );
  });

  it("4. version must be current + 1 (not equal, not +2, not beyond uint64)", () => {
    for (const version of [0n, 2n]) {
      expect(reasonOf(() => checkTransition(params, v0, { ...v0, version }, 0))).toMatch(
        new RegExp(`^${TransitionRule.version}`),
      );
    }
    const top = { ...v0, version: MAX_UINT64 };
    expect(reasonOf(() => checkTransition(params, top, next(top), 0))).toMatch(
      new RegExp(`^${TransitionRule.version}`),
    );
  });

  it("5. the allocation must be valid (the allocation rule's reason is kept)", () => {
    const to = next(v0, {
      allocation: withBalances(v0, [
        [-1n, 21n],
        [5n, 7n],
      ]),
    });
    const reason = reasonOf(() => checkTransition(params, v0, to, 0));
    expect(reason.startsWith(`${TransitionRule.allocation}: `)).toBe(true);
    expect(reason).toContain("negative");
  });

  it("5. the allocation must have one balance per participant", () => {
    const to = next(v0, {
      allocation: withBalances(v0, [
        [10n, 5n, 5n],
        [5n, 7n, 0n],
      ]),
    });
    const reason = reasonOf(() => checkTransition(params, v0, to, 0));
    expect(reason).toBe(`${TransitionRule.allocation}: 3 balances per asset for 2 participants`);
  });

  it("6. assets must not change (even with equal sums)", () => {
    const to = next(v0, { allocation: { ...v0.allocation, assets: [new FakeAsset(1), new FakeAsset(3)] } });
    expect(reasonOf(() => checkTransition(params, v0, to, 0))).toBe(TransitionRule.assets);
  });

  it("7. the per-asset sum must be preserved, locked funds included", () => {
    const minted = next(v0, {
      allocation: withBalances(v0, [
        [10n, 11n],
        [5n, 7n],
      ]),
    });
    expect(reasonOf(() => checkTransition(params, v0, minted, 0))).toBe(TransitionRule.sum);
    // Moving funds into a sub-allocation keeps the sum; dropping them does not.
    const lockedAlloc = withBalances(
      v0,
      [
        [8n, 10n],
        [5n, 7n],
      ],
      [{ id: new Uint8Array(32).fill(1), balances: [2n, 0n], indexMap: [] }],
    );
    const locked = next(v0, { allocation: lockedAlloc });
    expect(() => checkTransition(params, v0, locked, 0)).not.toThrow();
    const unlockedWrongly = next(locked, { allocation: { ...lockedAlloc, locked: [] } });
    expect(reasonOf(() => checkTransition(params, locked, unlockedWrongly, 0))).toBe(TransitionRule.sum);
  });

  it("the actor index must be a participant index", () => {
    const to = next(v0, { allocation: pay(v0, 0, 1, 1n) });
    for (const actor of [2, -1, 0.5]) {
      expect(reasonOf(() => checkTransition(params, v0, to, actor))).toBe(
        `${TransitionRule.actor}: ${actor}`,
      );
    }
  });

  it("then the app's validTransition", () => {
    const p = makeParams({ app: new PaymentApp(appAddress) });
    const s0 = makeInitialState(p, makeAllocation());
    const selfPay = next(s0, { allocation: pay(s0, 1, 0, 1n) });
    expect(reasonOf(() => checkTransition(p, s0, selfPay, 0))).toContain("increased its own balance");
    expect(() => checkTransition(p, s0, selfPay, 1)).not.toThrow();
  });

  it("checks the rules in order: the first violated rule is reported", () => {
    const to: State = {
      ...v0,
      id: new Uint8Array(32),
      version: 5n,
      allocation: withBalances(v0, [[1n, 1n]]),
    };
    expect(reasonOf(() => checkTransition(params, v0, to, 7))).toBe(TransitionRule.id);
    expect(reasonOf(() => checkTransition(params, v0, { ...to, id: params.id }, 7))).toMatch(/^version/);
  });

  it("checkGenericTransition skips the actor and app rules", () => {
    const p: Params = makeParams({ app: new PaymentApp(appAddress) });
    const s0 = makeInitialState(p, makeAllocation());
    const selfPay = next(s0, { allocation: pay(s0, 1, 0, 1n) });
    expect(() => checkGenericTransition(p, s0, selfPay)).not.toThrow();
    expect(reasonOf(() => checkGenericTransition(p, s0, { ...selfPay, version: 3n }))).toMatch(/^version/);
  });
});

describe("checkTwoPartyUpdate", () => {
  const sub = { id: new Uint8Array(32).fill(1), balances: [2n, 0n], indexMap: [0, 1] };
  const from: State = {
    ...v0,
    allocation: withBalances(
      v0,
      [
        [8n, 10n],
        [5n, 7n],
      ],
      [sub],
    ),
  };

  it("accepts an update whose actor is the sender and whose locked funds are unchanged", () => {
    const to = next(from, { allocation: { ...pay(from, 1, 0, 1n), locked: [{ ...sub }] } });
    expect(() => checkTwoPartyUpdate(from, to, 1, 1)).not.toThrow();
  });

  it("rejects an actor other than the sender", () => {
    const to = next(from);
    expect(reasonOf(() => checkTwoPartyUpdate(from, to, 0, 1))).toMatch(new RegExp(`^${TwoPartyRule.actor}`));
  });

  it("rejects changed locked funds, including a changed index map", () => {
    const moreLocked = next(from, {
      allocation: { ...from.allocation, locked: [{ ...sub, balances: [3n, 0n] }] },
    });
    expect(reasonOf(() => checkTwoPartyUpdate(from, moreLocked, 0, 0))).toBe(TwoPartyRule.locked);
    const remapped = next(from, {
      allocation: { ...from.allocation, locked: [{ ...sub, indexMap: [1, 0] }] },
    });
    expect(reasonOf(() => checkTwoPartyUpdate(from, remapped, 0, 0))).toBe(TwoPartyRule.locked);
    const dropped = next(from, { allocation: { ...from.allocation, locked: [] } });
    expect(reasonOf(() => checkTwoPartyUpdate(from, dropped, 0, 0))).toBe(TwoPartyRule.locked);
  });
});
