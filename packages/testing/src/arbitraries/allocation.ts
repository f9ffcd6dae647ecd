import type { Allocation, Asset, Balances, ChannelId, SubAlloc } from "@perun-ts/core";
import fc from "fast-check";
import { bigIntIn, intIn, keyOf, type Range } from "./backend.js";
import { arbChannelId, arbDistinctAssets, type WithBackend } from "./primitives.js";

/** Default balance range: 0..2^64 (uint256 is allowed; pass a wider range to test it). */
export const DEFAULT_BALANCE_RANGE = { min: 0n, max: 1n << 64n } as const;

export interface BalancesOptions {
  readonly numAssets: number;
  readonly numParts: number;
  /** Every single balance is drawn from this range; default {@link DEFAULT_BALANCE_RANGE}. */
  readonly balances?: Range<bigint>;
}

/** A `numAssets × numParts` balance matrix. */
export function arbBalances(opts: BalancesOptions): fc.Arbitrary<Balances> {
  const row = fc.array(bigIntIn(opts.balances, DEFAULT_BALANCE_RANGE), {
    minLength: opts.numParts,
    maxLength: opts.numParts,
  });
  return fc.array(row, { minLength: opts.numAssets, maxLength: opts.numAssets });
}

export interface SubAllocOptions {
  readonly numAssets: number;
  /** The child's id; random if absent. */
  readonly id?: ChannelId;
  readonly balances?: Range<bigint>;
  /**
   * Participant count of the parent. If given, the index map is either empty (identity) or maps
   * 2..numParts child participants to distinct parent indices; if absent it is always empty.
   */
  readonly parentParts?: number;
}

/** A sub-allocation (funds locked in a child channel). */
export function arbSubAlloc(opts: SubAllocOptions): fc.Arbitrary<SubAlloc> {
  const n = opts.parentParts;
  const indexMap: fc.Arbitrary<number[]> =
    n === undefined || n < 2
      ? fc.constant<number[]>([])
      : fc.oneof(
          fc.constant<number[]>([]),
          fc
            .integer({ min: 2, max: n })
            .chain((k) => fc.shuffledSubarray([...Array(n).keys()], { minLength: k, maxLength: k })),
        );
  return fc.record({
    id: opts.id ? fc.constant(opts.id) : arbChannelId(),
    balances: fc.array(bigIntIn(opts.balances, DEFAULT_BALANCE_RANGE), {
      minLength: opts.numAssets,
      maxLength: opts.numAssets,
    }),
    indexMap,
  });
}

export interface AllocationOptions extends WithBackend {
  /** Default 2..4. */
  readonly numParts?: Range<number>;
  /** Default 1..3; ignored if `assets` is given. */
  readonly numAssets?: Range<number>;
  /** Fixed assets (e.g. those of an existing channel). */
  readonly assets?: readonly Asset[];
  /** Number of locked sub-allocations; default 0..2. */
  readonly numLocked?: Range<number>;
  /** Range of each participant balance and each locked amount. */
  readonly balances?: Range<bigint>;
}

/** A valid allocation (distinct assets, distinct locked ids, balances in range). */
export function arbAllocation(opts: AllocationOptions = {}): fc.Arbitrary<Allocation> {
  const assets = opts.assets
    ? fc.constant([...opts.assets])
    : intIn(opts.numAssets, { min: 1, max: 3 }).chain((k) => arbDistinctAssets(k, opts));
  return fc
    .tuple(assets, intIn(opts.numParts, { min: 2, max: 4 }), intIn(opts.numLocked, { min: 0, max: 2 }))
    .chain(([as, numParts, numLocked]) =>
      fc.record({
        assets: fc.constant(as),
        balances: arbBalances({
          numAssets: as.length,
          numParts,
          ...(opts.balances !== undefined && { balances: opts.balances }),
        }),
        locked: fc.uniqueArray(
          arbSubAlloc({
            numAssets: as.length,
            parentParts: numParts,
            ...(opts.balances !== undefined && { balances: opts.balances }),
          }),
          { minLength: numLocked, maxLength: numLocked, selector: (s) => keyOf(s.id) },
        ),
      }),
    );
}
