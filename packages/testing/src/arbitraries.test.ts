import { SimAccount } from "@perun-ts/backend-sim";
import {
  AppRegistry,
  bytesEqual,
  decodeSignedState,
  decodeState,
  encodeSignedState,
  encodeState,
  PaymentApp,
  stateEquals,
  validateAllocation,
  validateParams,
} from "@perun-ts/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  arbAllocation,
  arbChannelState,
  arbChannelTransaction,
  arbParams,
  arbSignedState,
  arbState,
  arbSubAlloc,
  signState,
  simArbitraries,
} from "./arbitraries/index.js";
import { suiteSeed } from "./suite-support.js";

const seed = suiteSeed("arbitraries.test", undefined);
const run = { seed, numRuns: 40 };
const types = simArbitraries();
const apps = new AppRegistry().setDefault((def) => new PaymentApp(def));
const ctx = { backend: types.backend, apps };

describe("arbitraries", () => {
  it("params are valid and honour the options", () => {
    fc.assert(
      fc.property(arbParams({ numParts: { min: 3, max: 5 }, withApp: true, ledgerChannel: false }), (p) => {
        validateParams(p);
        expect(p.parts.length).toBeGreaterThanOrEqual(3);
        expect(p.parts.length).toBeLessThanOrEqual(5);
        expect(p.app.def).not.toBeNull();
        expect(p.ledgerChannel).toBe(false);
        expect(p.ledgerChannel && p.virtualChannel).toBe(false);
        expect(bytesEqual(p.id, types.backend.calcId(p))).toBe(true);
      }),
      run,
    );
    const first = SimAccount.random().address;
    fc.assert(
      fc.property(arbParams({ firstPart: first, nonce: 7n, challengeDuration: 9n, withApp: false }), (p) => {
        expect(p.parts[0]?.equals(first)).toBe(true);
        expect(p.nonce).toBe(7n);
        expect(p.challengeDuration).toBe(9n);
        expect(p.app.def).toBeNull();
      }),
      run,
    );
  });

  it("allocations are valid and have the requested dimensions", () => {
    fc.assert(
      fc.property(
        arbAllocation({
          numParts: 3,
          numAssets: { min: 2, max: 4 },
          numLocked: 2,
          balances: { min: 5n, max: 9n },
        }),
        (a) => {
          validateAllocation(a);
          expect(a.balances.every((r) => r.length === 3)).toBe(true);
          expect(a.assets.length).toBeGreaterThanOrEqual(2);
          expect(a.locked.length).toBe(2);
          expect(a.balances.flat().every((v) => v >= 5n && v <= 9n)).toBe(true);
          expect(new Set(a.assets.map((x) => x.toString())).size).toBe(a.assets.length);
        },
      ),
      run,
    );
  });

  it("sub-allocations have per-asset balances and index maps into the parent", () => {
    fc.assert(
      fc.property(arbSubAlloc({ numAssets: 2, parentParts: 4 }), (s) => {
        expect(s.balances.length).toBe(2);
        expect(s.id.length).toBe(32);
        expect(s.indexMap.every((i) => i >= 0 && i < 4)).toBe(true);
        expect(new Set(s.indexMap).size).toBe(s.indexMap.length);
      }),
      run,
    );
  });

  it("states belong to their params and round-trip through core's codec", () => {
    fc.assert(
      fc.property(arbChannelState({ isFinal: true, version: { min: 3n, max: 5n } }), ({ params, state }) => {
        expect(bytesEqual(state.id, params.id)).toBe(true);
        expect(state.allocation.balances[0]?.length).toBe(params.parts.length);
        expect(state.isFinal).toBe(true);
        expect(state.version >= 3n && state.version <= 5n).toBe(true);
        expect(stateEquals(decodeState(encodeState(state), ctx, params.parts.length), state)).toBe(true);
      }),
      run,
    );
  });

  it("transactions have the requested signature slots", () => {
    const len = types.backend.signatureLength;
    for (const sigs of ["full", "partial", "none"] as const) {
      fc.assert(
        fc.property(arbChannelTransaction({ sigs }), ({ params, tx }) => {
          expect(tx.sigs.length).toBe(params.parts.length);
          const present = tx.sigs.filter((s) => s !== undefined);
          if (sigs === "full") expect(present.length).toBe(params.parts.length);
          if (sigs === "none") expect(present.length).toBe(0);
          if (sigs === "partial")
            expect(present.length > 0 && present.length < params.parts.length).toBe(true);
          expect(present.every((s) => s.length === len)).toBe(true);
        }),
        { seed, numRuns: 15 },
      );
    }
  });

  it("signed states round-trip through core's codec, and signState makes verifiable signatures", async () => {
    fc.assert(
      fc.property(arbSignedState(), (s) => {
        const back = decodeSignedState(encodeSignedState(s), ctx);
        expect(stateEquals(back.state, s.state)).toBe(true);
        expect(back.sigs.every((x, i) => bytesEqual(x, s.sigs[i] as Uint8Array))).toBe(true);
      }),
      { seed, numRuns: 20 },
    );
    const accounts = [SimAccount.random(), SimAccount.random()];
    const [state] = fc.sample(arbState({ parts: accounts.map((a) => a.address) }), { seed, numRuns: 1 });
    if (!state) throw new Error("no sample");
    const sigs = await signState(types.backend, accounts, state);
    for (const [i, a] of accounts.entries()) {
      expect(await types.backend.verify(a.address, state, sigs[i] as Uint8Array)).toBe(true);
    }
  });
});
