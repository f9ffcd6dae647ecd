import type { Asset } from "./asset.js";
import { CHANNEL_ID_LENGTH, type ChannelId, channelIdEquals, channelIdHex } from "./channel-id.js";
import { ValidationError } from "./errors.js";
import { MAX_ASSETS, MAX_BALANCE, MAX_LOCKED, MAX_PARTS } from "./limits.js";

/** Balances per asset and participant: `balances[asset][participant]`. */
export type Balances = bigint[][];

/** Funds locked into a child channel (sub-channel or virtual channel). */
export interface SubAlloc {
  /** The child channel's id. */
  readonly id: ChannelId;
  /** Total locked per asset (the child's whole allocation sum). */
  readonly balances: readonly bigint[];
  /** child participant index → parent participant index; empty means identity. */
  readonly indexMap: readonly number[];
}

/** Who owns what in a channel, per asset, plus funds locked in children. */
export interface Allocation {
  readonly assets: readonly Asset[];
  readonly balances: readonly (readonly bigint[])[];
  readonly locked: readonly SubAlloc[];
}

function checkAmount(v: bigint, where: string): void {
  if (typeof v !== "bigint") throw new ValidationError(`${where} is not a bigint`);
  if (v < 0n) throw new ValidationError(`${where} is negative`);
  if (v > MAX_BALANCE) throw new ValidationError(`${where} exceeds uint256`);
}

/** Checks the allocation rules (spec §2.5); throws `ValidationError` with the failing rule. */
export function validateAllocation(a: Allocation): void {
  if (a.assets.length === 0) throw new ValidationError("allocation has no assets");
  if (a.assets.length > MAX_ASSETS)
    throw new ValidationError(`allocation has more than ${MAX_ASSETS} assets`);
  if (a.balances.length !== a.assets.length) {
    throw new ValidationError(
      `allocation has ${a.balances.length} balance rows for ${a.assets.length} assets`,
    );
  }
  if (a.locked.length > MAX_LOCKED)
    throw new ValidationError(`allocation has more than ${MAX_LOCKED} locked`);
  const n = a.balances[0]?.length ?? 0;
  if (n === 0) throw new ValidationError("allocation has no participants");
  if (n > MAX_PARTS) throw new ValidationError(`allocation has more than ${MAX_PARTS} participants`);
  a.balances.forEach((row, i) => {
    if (row.length !== n) throw new ValidationError(`asset ${i} has ${row.length} balances, expected ${n}`);
    for (const [j, v] of row.entries()) checkAmount(v, `balance of participant ${j} for asset ${i}`);
  });
  a.locked.forEach((s, k) => {
    if (s.id.length !== CHANNEL_ID_LENGTH)
      throw new ValidationError(`locked ${k} has an id of ${s.id.length} bytes`);
    if (s.balances.length !== a.assets.length) {
      throw new ValidationError(
        `locked ${k} has ${s.balances.length} balances for ${a.assets.length} assets`,
      );
    }
    for (const [i, v] of s.balances.entries()) checkAmount(v, `locked ${k} balance for asset ${i}`);
    if (s.indexMap.length > MAX_PARTS) throw new ValidationError(`locked ${k} index map is too long`);
    for (const x of s.indexMap) {
      if (!Number.isInteger(x) || x < 0 || x >= n) {
        throw new ValidationError(`locked ${k} index map entry ${x} is not a participant index`);
      }
    }
    for (let j = 0; j < k; j++) {
      if (channelIdEquals((a.locked[j] as SubAlloc).id, s.id)) {
        throw new ValidationError(`channel ${channelIdHex(s.id)} is locked twice`);
      }
    }
  });
}

/** Number of participants of the allocation (length of the balance rows). */
export function numParts(a: Allocation): number {
  return a.balances[0]?.length ?? 0;
}

/** Per asset: the participants' balances plus all locked funds. */
export function allocationSum(a: Allocation): bigint[] {
  return a.assets.map((_, i) => {
    let s = 0n;
    for (const v of a.balances[i] ?? []) s += v;
    for (const l of a.locked) s += l.balances[i] ?? 0n;
    return s;
  });
}

/** Per asset: the sum of one balance matrix (no locked funds). */
export function balancesSum(b: readonly (readonly bigint[])[]): bigint[] {
  return b.map((row) => row.reduce((x, y) => x + y, 0n));
}

export function balancesEqual(a: readonly (readonly bigint[])[], b: readonly (readonly bigint[])[]): boolean {
  return a.length === b.length && a.every((row, i) => bigintsEqual(row, b[i] ?? []));
}

export function bigintsEqual(a: readonly bigint[], b: readonly bigint[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export function assetsEqual(a: readonly Asset[], b: readonly Asset[]): boolean {
  return a.length === b.length && a.every((x, i) => x.equals(b[i] as Asset));
}

/** Full equality of sub-allocations, index maps included (go-perun ignored them: spec §2.5 bug). */
export function subAllocEquals(a: SubAlloc, b: SubAlloc): boolean {
  return (
    channelIdEquals(a.id, b.id) &&
    bigintsEqual(a.balances, b.balances) &&
    a.indexMap.length === b.indexMap.length &&
    a.indexMap.every((x, i) => x === b.indexMap[i])
  );
}

export function lockedEqual(a: readonly SubAlloc[], b: readonly SubAlloc[]): boolean {
  return a.length === b.length && a.every((s, i) => subAllocEquals(s, b[i] as SubAlloc));
}

export function allocationEquals(a: Allocation, b: Allocation): boolean {
  return (
    assetsEqual(a.assets, b.assets) &&
    balancesEqual(a.balances, b.balances) &&
    lockedEqual(a.locked, b.locked)
  );
}

/** Deep copy of the mutable parts (assets are immutable and shared). */
export function cloneAllocation(a: Allocation): Allocation {
  return {
    assets: [...a.assets],
    balances: a.balances.map((row) => [...row]),
    locked: a.locked.map((s) => ({ id: s.id.slice(), balances: [...s.balances], indexMap: [...s.indexMap] })),
  };
}

/** The sub-allocation of child `id`, if any. */
export function findSubAlloc(a: Allocation, id: ChannelId): SubAlloc | undefined {
  return a.locked.find((s) => channelIdEquals(s.id, id));
}

/**
 * A new allocation where `amounts[asset]` moved from participant `from` to participant `to`.
 * Throws `ValidationError` if `from` would go negative.
 */
export function transfer(a: Allocation, from: number, to: number, amounts: readonly bigint[]): Allocation {
  if (amounts.length !== a.assets.length) throw new ValidationError("one amount per asset expected");
  const balances = a.balances.map((row, i) => {
    const amount = amounts[i] as bigint;
    if (amount < 0n) throw new ValidationError(`negative amount for asset ${i}`);
    const next = [...row];
    const have = next[from];
    if (have === undefined || next[to] === undefined)
      throw new ValidationError("participant index out of range");
    if (have < amount) throw new ValidationError(`participant ${from} has only ${have} of asset ${i}`);
    next[from] = have - amount;
    next[to] = (next[to] as bigint) + amount;
    return next;
  });
  return { assets: a.assets, balances, locked: a.locked };
}

/**
 * A new allocation where `sub.balances` per asset were debited from `debits[asset][participant]` and
 * locked. The debits of each asset must add up to `sub.balances[asset]`, so the sum is preserved.
 * Throws `ValidationError` otherwise, if a participant lacks funds, or if `sub.id` is already locked.
 */
export function withSubAlloc(
  a: Allocation,
  sub: SubAlloc,
  debits: readonly (readonly bigint[])[],
): Allocation {
  if (findSubAlloc(a, sub.id)) throw new ValidationError(`channel ${channelIdHex(sub.id)} is already locked`);
  checkMovedFunds(a, sub.balances, debits, "debits");
  const balances = a.balances.map((row, i) =>
    row.map((v, j) => {
      const d = debits[i]?.[j] ?? 0n;
      if (d > v) throw new ValidationError(`participant ${j} has only ${v} of asset ${i}`);
      return v - d;
    }),
  );
  return { assets: a.assets, balances, locked: [...a.locked, sub] };
}

/** Checks that `moved` has the allocation's shape, no negative entry, and per asset sums to `total`. */
function checkMovedFunds(
  a: Allocation,
  total: readonly bigint[],
  moved: readonly (readonly bigint[])[],
  what: string,
): void {
  const n = numParts(a);
  if (total.length !== a.assets.length || moved.length !== a.assets.length) {
    throw new ValidationError(`${what}: one entry per asset expected`);
  }
  moved.forEach((row, i) => {
    if (row.length !== n) throw new ValidationError(`${what}: asset ${i} needs one amount per participant`);
    let sum = 0n;
    for (const v of row) {
      if (v < 0n) throw new ValidationError(`${what}: negative amount for asset ${i}`);
      sum += v;
    }
    if (sum !== total[i]) {
      throw new ValidationError(
        `${what} of asset ${i} add up to ${sum}, the sub-allocation holds ${total[i]}`,
      );
    }
  });
}

/**
 * A new allocation without child `id`, its funds credited as `credits[asset][participant]`. The
 * credits of each asset must add up to the locked amount. Throws `ValidationError` otherwise or if
 * `id` is not locked.
 */
export function withoutSubAlloc(
  a: Allocation,
  id: ChannelId,
  credits: readonly (readonly bigint[])[],
): Allocation {
  const sub = findSubAlloc(a, id);
  if (!sub) throw new ValidationError(`channel ${channelIdHex(id)} is not locked`);
  checkMovedFunds(a, sub.balances, credits, "credits");
  const balances = a.balances.map((row, i) => row.map((v, j) => v + (credits[i]?.[j] ?? 0n)));
  return { assets: a.assets, balances, locked: a.locked.filter((s) => !channelIdEquals(s.id, id)) };
}
