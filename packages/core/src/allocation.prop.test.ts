// Sum preservation under random transfers and random lock/release of sub-allocations.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Allocation,
  allocationSum,
  transfer,
  validateAllocation,
  withoutSubAlloc,
  withSubAlloc,
} from "./allocation.js";
import { ValidationError } from "./errors.js";
import { FakeAsset } from "./fake-backend.test-helper.js";

const seed = Number(process.env.FC_SEED) || Date.now() % 2 ** 31;
console.info(`allocation.prop.test.ts: fast-check seed ${seed} (set FC_SEED to reproduce)`);

const allocationArb = fc
  .record({ parts: fc.integer({ min: 2, max: 5 }), assets: fc.integer({ min: 1, max: 4 }) })
  .chain(({ parts, assets }) =>
    fc.record({
      balances: fc.array(
        fc.array(fc.bigInt({ min: 0n, max: 1n << 80n }), { minLength: parts, maxLength: parts }),
        {
          minLength: assets,
          maxLength: assets,
        },
      ),
      moves: fc.array(
        fc.record({
          from: fc.nat({ max: parts - 1 }),
          to: fc.nat({ max: parts - 1 }),
          amounts: fc.array(fc.bigInt({ min: 0n, max: 1n << 81n }), { minLength: assets, maxLength: assets }),
        }),
        { maxLength: 30 },
      ),
    }),
  )
  .map(({ balances, moves }) => {
    const a: Allocation = {
      assets: balances.map((_, i) => new FakeAsset(i)),
      balances,
      locked: [],
    };
    return { a, moves };
  });

describe("allocation properties", () => {
  it("random transfers preserve every asset's sum, or fail with ValidationError and change nothing", () => {
    fc.assert(
      fc.property(allocationArb, ({ a, moves }) => {
        const sum = allocationSum(a);
        let cur = a;
        for (const m of moves) {
          try {
            cur = transfer(cur, m.from, m.to, m.amounts);
          } catch (e) {
            expect(e).toBeInstanceOf(ValidationError);
            // A failing transfer must be one that would overdraw.
            expect(m.amounts.some((x, i) => x > (cur.balances[i]?.[m.from] ?? 0n))).toBe(true);
            continue;
          }
          expect(allocationSum(cur)).toEqual(sum);
          validateAllocation(cur);
        }
      }),
      { seed, numRuns: 200 },
    );
  });

  it("locking then releasing a sub-allocation preserves the sums", () => {
    fc.assert(
      fc.property(allocationArb, fc.nat(), fc.nat(), ({ a }, takeSeed, giveSeed) => {
        const n = a.balances[0]?.length ?? 0;
        // Debit a pseudo-random part of each balance; credit the total to a pseudo-random participant.
        const debits = a.balances.map((row, i) =>
          row.map((v, j) => (v * BigInt((takeSeed + i + j) % 3)) / 2n),
        );
        const totals = debits.map((row) => row.reduce((x, y) => x + y, 0n));
        const sub = { id: new Uint8Array(32).fill(1), balances: totals, indexMap: [] };
        const locked = withSubAlloc(a, sub, debits);
        expect(allocationSum(locked)).toEqual(allocationSum(a));
        validateAllocation(locked);
        const credits = totals.map((t) => Array.from({ length: n }, (_, j) => (j === giveSeed % n ? t : 0n)));
        const released = withoutSubAlloc(locked, sub.id, credits);
        expect(allocationSum(released)).toEqual(allocationSum(a));
        expect(released.locked).toEqual([]);
      }),
      { seed, numRuns: 200 },
    );
  });
});
