import { describe, expect, it } from "vitest";
import {
  type Allocation,
  allocationEquals,
  allocationSum,
  balancesSum,
  cloneAllocation,
  findSubAlloc,
  lockedEqual,
  numParts,
  type SubAlloc,
  subAllocEquals,
  transfer,
  validateAllocation,
  withoutSubAlloc,
  withSubAlloc,
} from "./allocation.js";
import { ValidationError } from "./errors.js";
import { FakeAsset } from "./fake-backend.test-helper.js";
import { MAX_ASSETS, MAX_BALANCE, MAX_LOCKED, MAX_PARTS } from "./limits.js";

const A = new FakeAsset(1);
const B = new FakeAsset(2);
const id = (n: number) => new Uint8Array(32).fill(n);

function alloc(over: Partial<Allocation> = {}): Allocation {
  return {
    assets: [A, B],
    balances: [
      [10n, 20n],
      [1n, 2n],
    ],
    locked: [{ id: id(1), balances: [5n, 0n], indexMap: [] }],
    ...over,
  };
}

function reason(a: Allocation): string {
  try {
    validateAllocation(a);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as ValidationError).reason;
  }
  throw new Error("expected a ValidationError");
}

describe("validateAllocation: each failure has its own reason", () => {
  it("accepts a valid allocation", () => {
    expect(() => validateAllocation(alloc())).not.toThrow();
  });

  const sub = (s: Partial<SubAlloc>): Allocation =>
    alloc({ locked: [{ id: id(1), balances: [1n, 1n], indexMap: [], ...s }] });
  const cases: [string, Allocation, RegExp][] = [
    ["no assets", alloc({ assets: [], balances: [] }), /no assets/],
    [
      "too many assets",
      alloc({
        assets: new Array(MAX_ASSETS + 1).fill(A),
        balances: new Array(MAX_ASSETS + 1).fill([1n, 1n]),
      }),
      /more than 1024 assets/,
    ],
    ["rows ≠ assets", alloc({ balances: [[1n, 1n]] }), /1 balance rows for 2 assets/],
    [
      "too many locked",
      alloc({
        locked: Array.from({ length: MAX_LOCKED + 1 }, () => ({
          id: id(1),
          balances: [0n, 0n],
          indexMap: [],
        })),
      }),
      /more than 1024 locked/,
    ],
    ["no participants", alloc({ balances: [[], []], locked: [] }), /no participants/],
    [
      "too many participants",
      alloc({ balances: [new Array(MAX_PARTS + 1).fill(0n), new Array(MAX_PARTS + 1).fill(0n)], locked: [] }),
      /more than 1024 participants/,
    ],
    ["ragged rows", alloc({ balances: [[1n, 1n], [1n]] }), /asset 1 has 1 balances, expected 2/],
    [
      "not a bigint",
      alloc({
        balances: [
          [1n, 1 as unknown as bigint],
          [1n, 1n],
        ],
      }),
      /not a bigint/,
    ],
    [
      "negative balance",
      alloc({
        balances: [
          [1n, -1n],
          [1n, 1n],
        ],
      }),
      /participant 1 for asset 0 is negative/,
    ],
    [
      "balance over uint256",
      alloc({
        balances: [
          [1n, MAX_BALANCE + 1n],
          [1n, 1n],
        ],
      }),
      /exceeds uint256/,
    ],
    ["locked id length", sub({ id: new Uint8Array(31) }), /id of 31 bytes/],
    ["locked balance count", sub({ balances: [1n] }), /1 balances for 2 assets/],
    ["locked negative", sub({ balances: [1n, -2n] }), /locked 0 balance for asset 1 is negative/],
    ["index map too long", sub({ indexMap: new Array(MAX_PARTS + 1).fill(0) }), /index map is too long/],
    ["index map out of range", sub({ indexMap: [0, 2] }), /entry 2 is not a participant index/],
    ["index map not an integer", sub({ indexMap: [0, 0.5] }), /entry 0.5/],
    [
      "duplicate locked id",
      alloc({
        locked: [
          { id: id(1), balances: [1n, 1n], indexMap: [] },
          { id: id(1), balances: [1n, 1n], indexMap: [] },
        ],
      }),
      /locked twice/,
    ],
  ];
  it.each(cases)("%s", (_name, a, re) => {
    expect(reason(a)).toMatch(re);
  });
});

describe("sums and equality", () => {
  it("allocationSum includes locked funds; balancesSum does not", () => {
    expect(allocationSum(alloc())).toEqual([35n, 3n]);
    expect(balancesSum(alloc().balances)).toEqual([30n, 3n]);
    expect(numParts(alloc())).toBe(2);
  });

  it("subAllocEquals compares index maps (spec §2.5 bug not copied)", () => {
    const s: SubAlloc = { id: id(1), balances: [1n, 2n], indexMap: [0, 1] };
    expect(subAllocEquals(s, { ...s, indexMap: [0, 1] })).toBe(true);
    expect(subAllocEquals(s, { ...s, indexMap: [1, 0] })).toBe(false);
    expect(subAllocEquals(s, { ...s, indexMap: [] })).toBe(false);
    expect(subAllocEquals(s, { ...s, balances: [1n, 3n] })).toBe(false);
    expect(subAllocEquals(s, { ...s, id: id(2) })).toBe(false);
    expect(lockedEqual([s], [{ ...s, indexMap: [1, 0] }])).toBe(false);
    expect(lockedEqual([s], [])).toBe(false);
  });

  it("allocationEquals and cloneAllocation (deep copy)", () => {
    const a = alloc();
    const c = cloneAllocation(a);
    expect(allocationEquals(a, c)).toBe(true);
    (c.balances[0] as bigint[])[0] = 11n;
    expect(allocationEquals(a, c)).toBe(false);
    expect(a.balances[0]?.[0]).toBe(10n);
    expect(allocationEquals(a, { ...a, assets: [A, new FakeAsset(3)] })).toBe(false);
  });
});

describe("transfer", () => {
  it("moves funds between participants per asset and keeps the sum", () => {
    const a = alloc();
    const t = transfer(a, 1, 0, [5n, 2n]);
    expect(t.balances).toEqual([
      [15n, 15n],
      [3n, 0n],
    ]);
    expect(allocationSum(t)).toEqual(allocationSum(a));
    expect(a.balances[0]).toEqual([10n, 20n]); // input untouched
  });

  it("rejects insufficient funds, negative amounts, bad indices and wrong amount counts", () => {
    expect(() => transfer(alloc(), 0, 1, [11n, 0n])).toThrow(/has only 10 of asset 0/);
    expect(() => transfer(alloc(), 0, 1, [-1n, 0n])).toThrow(/negative amount/);
    expect(() => transfer(alloc(), 0, 2, [1n, 0n])).toThrow(/out of range/);
    expect(() => transfer(alloc(), 0, 1, [1n])).toThrow(/one amount per asset/);
    expect(() => transfer(alloc(), 0, 1, [1n])).toThrow(ValidationError);
  });
});

describe("withSubAlloc / withoutSubAlloc", () => {
  const child: SubAlloc = { id: id(7), balances: [6n, 1n], indexMap: [] };

  it("locks funds and releases them again, preserving the sum", () => {
    const a = alloc();
    const locked = withSubAlloc(a, child, [
      [2n, 4n],
      [0n, 1n],
    ]);
    expect(locked.balances).toEqual([
      [8n, 16n],
      [1n, 1n],
    ]);
    expect(findSubAlloc(locked, id(7))).toBe(child);
    expect(allocationSum(locked)).toEqual(allocationSum(a));
    const released = withoutSubAlloc(locked, id(7), [
      [6n, 0n],
      [1n, 0n],
    ]);
    expect(findSubAlloc(released, id(7))).toBeUndefined();
    expect(released.locked).toHaveLength(1);
    expect(released.balances).toEqual([
      [14n, 16n],
      [2n, 1n],
    ]);
    expect(allocationSum(released)).toEqual(allocationSum(a));
  });

  it("rejects double locking, insufficient funds, mismatched or negative debits", () => {
    expect(() =>
      withSubAlloc(alloc(), { ...child, id: id(1) }, [
        [6n, 0n],
        [1n, 0n],
      ]),
    ).toThrow(/already locked/);
    expect(() =>
      withSubAlloc(alloc(), { ...child, balances: [12n, 1n] }, [
        [12n, 0n],
        [1n, 0n],
      ]),
    ).toThrow(/has only 10 of asset 0/);
    expect(() =>
      withSubAlloc(alloc(), child, [
        [1n, 4n],
        [0n, 1n],
      ]),
    ).toThrow(/add up to 5/);
    expect(() =>
      withSubAlloc(alloc(), child, [
        [-1n, 7n],
        [0n, 1n],
      ]),
    ).toThrow(/negative/);
    expect(() => withSubAlloc(alloc(), child, [[6n, 0n]])).toThrow(/one entry per asset/);
    expect(() => withSubAlloc(alloc(), child, [[6n], [1n, 0n]])).toThrow(/one amount per participant/);
  });

  it("rejects releasing an unknown child or crediting a different amount", () => {
    expect(() =>
      withoutSubAlloc(alloc(), id(9), [
        [0n, 0n],
        [0n, 0n],
      ]),
    ).toThrow(/not locked/);
    expect(() =>
      withoutSubAlloc(alloc(), id(1), [
        [5n, 1n],
        [0n, 0n],
      ]),
    ).toThrow(/add up to 6/);
  });
});
