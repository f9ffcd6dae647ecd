// Small helpers shared by the generic suites: seeds, outcome classification, state mutations.
import { type Address, type Asset, noApp, PaymentApp, type State } from "@perun-ts/core";
import fc from "fast-check";

/** Options common to every suite. */
export interface SuiteRunOptions {
  /** Title of the `describe` block. */
  readonly name?: string;
  /** fast-check seed; default: `PROP_SEED` from the environment, else time-based. Printed on start. */
  readonly seed?: number;
  /** fast-check runs per property; each suite documents its default. */
  readonly numRuns?: number;
}

/** The seed a suite runs with (explicit, `PROP_SEED`, or time-based), printed so failures reproduce. */
export function suiteSeed(suite: string, explicit: number | undefined): number {
  const env = typeof process !== "undefined" ? process.env.PROP_SEED : undefined;
  const seed = explicit ?? (env !== undefined && env !== "" ? Number(env) : Date.now() % 2 ** 31);
  console.log(`[@perun-ts/testing] ${suite}: seed=${seed} (rerun with PROP_SEED=${seed})`);
  return seed;
}

/** One concrete value of `arb` for a seed (fast-check's deterministic sampling). */
export function sampleOne<T>(arb: fc.Arbitrary<T>, seed: number): T {
  const [v] = fc.sample(arb, { seed, numRuns: 1 });
  if (v === undefined) throw new Error("fast-check produced no sample");
  return v;
}

/** How an async call ended: its value or its error. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export async function outcome<T>(f: () => Promise<T> | T): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await f() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** A short description of an error for assertion messages. */
export function describeError(e: unknown): string {
  return e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e);
}

/** A named single-field modification of a state. */
export interface StateMutation {
  readonly field: string;
  readonly apply: (s: State) => State;
}

/**
 * Every single-field modification of a state that a signature must cover: id, version, app,
 * assets, each balance, locked funds (added, removed, id, amount, index map), data and isFinal.
 * `otherAsset` and `otherAppDef` must differ from every asset / the app of the states mutated.
 */
export function stateMutations(otherAsset: Asset, otherAppDef: Address): StateMutation[] {
  const withAlloc = (s: State, a: Partial<State["allocation"]>): State => ({
    ...s,
    allocation: { ...s.allocation, ...a },
  });
  const m: StateMutation[] = [
    { field: "id", apply: (s) => ({ ...s, id: flipBit(s.id, 0) }) },
    { field: "id (last byte)", apply: (s) => ({ ...s, id: flipBit(s.id, s.id.length - 1) }) },
    { field: "version", apply: (s) => ({ ...s, version: s.version + 1n }) },
    {
      field: "app",
      apply: (s) => ({ ...s, app: s.app.def === null ? new PaymentApp(otherAppDef) : noApp }),
    },
    { field: "isFinal", apply: (s) => ({ ...s, isFinal: !s.isFinal }) },
    { field: "data", apply: (s) => ({ ...s, data: new Uint8Array([...s.data, 1]) }) },
    {
      field: "assets[0]",
      apply: (s) => withAlloc(s, { assets: [otherAsset, ...s.allocation.assets.slice(1)] }),
    },
    {
      field: "balances[0][0]",
      apply: (s) =>
        withAlloc(s, {
          balances: s.allocation.balances.map((r, i) =>
            i === 0 ? r.map((v, j) => (j === 0 ? v + 1n : v)) : r,
          ),
        }),
    },
    {
      field: "balances (last participant of last asset)",
      apply: (s) => {
        const b = s.allocation.balances.map((r) => [...r]);
        const row = b[b.length - 1] as bigint[];
        row[row.length - 1] = (row[row.length - 1] as bigint) + 1n;
        return withAlloc(s, { balances: b });
      },
    },
    {
      field: "locked (added)",
      apply: (s) =>
        withAlloc(s, {
          locked: [
            ...s.allocation.locked,
            { id: new Uint8Array(32).fill(0xee), balances: s.allocation.assets.map(() => 1n), indexMap: [] },
          ],
        }),
    },
  ];
  return m;
}

/** Mutations of the locked funds, for states that have at least one sub-allocation. */
export function lockedMutations(): StateMutation[] {
  const edit = (
    s: State,
    f: (l: State["allocation"]["locked"][number]) => State["allocation"]["locked"][number],
  ) => ({
    ...s,
    allocation: { ...s.allocation, locked: s.allocation.locked.map((l, i) => (i === 0 ? f(l) : l)) },
  });
  return [
    {
      field: "locked (removed)",
      apply: (s) => ({ ...s, allocation: { ...s.allocation, locked: s.allocation.locked.slice(1) } }),
    },
    { field: "locked[0].id", apply: (s) => edit(s, (l) => ({ ...l, id: flipBit(l.id, 7) })) },
    {
      field: "locked[0].balances",
      apply: (s) => edit(s, (l) => ({ ...l, balances: l.balances.map((v, i) => (i === 0 ? v + 1n : v)) })),
    },
    {
      field: "locked[0].indexMap",
      apply: (s) =>
        edit(s, (l) => ({ ...l, indexMap: l.indexMap.length === 0 ? [1, 0] : [...l.indexMap, 0] })),
    },
  ];
}

export function flipBit(b: Uint8Array, byte: number): Uint8Array {
  const out = b.slice();
  out[byte] = (out[byte] as number) ^ 1;
  return out;
}
