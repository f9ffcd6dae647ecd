// Property tests of the canonical codec. The seed is printed; rerun a failure with FC_SEED=<seed>.
import { encode as rawEncode } from "@msgpack/msgpack";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Allocation, allocationEquals, type SubAlloc } from "./allocation.js";
import { type App, AppRegistry, appsEqual, noApp, PaymentApp } from "./app.js";
import { toHex } from "./bytes.js";
import {
  type DecodeContext,
  decodeAllocation,
  decodeParams,
  decodeSignedState,
  decodeState,
  decodeTransaction,
  encodeAllocation,
  encodeParams,
  encodeSignedState,
  encodeState,
  encodeTransaction,
} from "./codec.js";
import { DecodeError } from "./errors.js";
import { FakeAddress, FakeAsset, FakeBackend } from "./fake-backend.test-helper.js";
import { MAX_BALANCE, MAX_NONCE, MAX_UINT64 } from "./limits.js";
import { Params } from "./params.js";
import { type State, stateEquals } from "./state.js";
import type { SignedState, Transaction } from "./transaction.js";

const seed = process.env.FC_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.FC_SEED);
console.log(`codec.prop.test.ts: fast-check seed ${seed} (rerun with FC_SEED=${seed})`);

const backend = new FakeBackend();
// Every app definition resolves to a payment app with that definition.
const apps = new AppRegistry().setDefault((def) => new PaymentApp(def));
const ctx: DecodeContext = { backend, apps };

// ---- local arbitraries over the FakeBackend types --------------------------------------------

const bytesOf = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const addressArb = bytesOf(20).map((b) => new FakeAddress(b));
const appArb: fc.Arbitrary<App> = fc.oneof(
  fc.constant(noApp),
  addressArb.map((a) => new PaymentApp(a)),
);
const u64 = fc.bigInt({ min: 0n, max: MAX_UINT64 });
const u256 = fc.oneof(
  fc.bigInt({ min: 0n, max: 1000n }),
  fc.bigInt({ min: 0n, max: MAX_BALANCE }),
  fc.constant(MAX_BALANCE),
);

const paramsArb = (parts: { min: number; max: number } = { min: 2, max: 4 }) =>
  fc
    .record({
      challengeDuration: fc.bigInt({ min: 1n, max: MAX_UINT64 }),
      parts: fc.uniqueArray(bytesOf(20), { minLength: parts.min, maxLength: parts.max, selector: toHex }),
      app: appArb,
      nonce: fc.oneof(fc.bigInt({ min: 0n, max: 255n }), fc.bigInt({ min: 0n, max: MAX_NONCE })),
      kind: fc.constantFrom("ledger", "virtual", "sub"),
    })
    .map(({ parts: raw, kind, ...rest }) =>
      Params.create(
        {
          ...rest,
          parts: raw.map((b) => new FakeAddress(b)),
          ledgerChannel: kind === "ledger",
          virtualChannel: kind === "virtual",
        },
        backend,
      ),
    );

function allocationArb(n: number): fc.Arbitrary<Allocation> {
  return fc.integer({ min: 1, max: 3 }).chain((numAssets) => {
    const subAlloc: fc.Arbitrary<SubAlloc> = fc.record({
      id: bytesOf(32),
      balances: fc.array(u256, { minLength: numAssets, maxLength: numAssets }),
      indexMap: fc.oneof(
        fc.constant([]),
        fc.array(fc.integer({ min: 0, max: n - 1 }), { minLength: 1, maxLength: n }),
      ),
    });
    return fc.record({
      assets: fc.array(
        fc.integer({ min: 0, max: 255 }).map((i) => new FakeAsset(i)),
        { minLength: numAssets, maxLength: numAssets },
      ),
      balances: fc.array(fc.array(u256, { minLength: n, maxLength: n }), {
        minLength: numAssets,
        maxLength: numAssets,
      }),
      locked: fc.uniqueArray(subAlloc, { maxLength: 3, selector: (s) => toHex(s.id) }),
    });
  });
}

function stateArb(p: Params): fc.Arbitrary<State> {
  return fc.record({
    id: fc.constant(p.id),
    version: u64,
    app: fc.constant(p.app),
    allocation: allocationArb(p.numParts),
    data: p.app === noApp ? fc.constant(new Uint8Array()) : fc.uint8Array({ maxLength: 40 }),
    isFinal: fc.boolean(),
  });
}

const sigArb = bytesOf(backend.signatureLength);

const transactionArb: fc.Arbitrary<{ n: number; tx: Transaction }> = paramsArb().chain((p) =>
  fc.oneof(
    fc.constant({ n: p.numParts, tx: { state: undefined, sigs: [] } }),
    fc.record({
      n: fc.constant(p.numParts),
      tx: fc.record({
        state: stateArb(p),
        sigs: fc.array(fc.option(sigArb, { nil: undefined }), {
          minLength: p.numParts,
          maxLength: p.numParts,
        }),
      }),
    }),
  ),
);

const signedStateArb: fc.Arbitrary<SignedState> = paramsArb().chain((p) =>
  fc.record({
    params: fc.constant(p),
    state: stateArb(p),
    sigs: fc.array(sigArb, { minLength: p.numParts, maxLength: p.numParts }),
  }),
);

function paramsEqual(a: Params, b: Params): boolean {
  return (
    toHex(a.id) === toHex(b.id) &&
    a.challengeDuration === b.challengeDuration &&
    a.nonce === b.nonce &&
    a.ledgerChannel === b.ledgerChannel &&
    a.virtualChannel === b.virtualChannel &&
    a.parts.length === b.parts.length &&
    a.parts.every((x, i) => x.equals(b.parts[i] as FakeAddress)) &&
    appsEqual(a.app, b.app)
  );
}

const sigsEqual = (a: readonly (Uint8Array | undefined)[], b: readonly (Uint8Array | undefined)[]) =>
  a.length === b.length &&
  a.every((x, i) => (x === undefined ? b[i] === undefined : toHex(x) === toHex(b[i] ?? new Uint8Array(1))));

const opts = (numRuns: number) => ({ seed, numRuns });

describe("codec round trip of random values", () => {
  it("params", () => {
    fc.assert(
      fc.property(paramsArb({ min: 2, max: 8 }), (p) => {
        const bytes = encodeParams(p);
        const back = decodeParams(bytes, ctx);
        expect(paramsEqual(p, back)).toBe(true);
        expect(encodeParams(back)).toEqual(bytes);
      }),
      opts(300),
    );
  });

  it("allocation", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }).chain((n) => allocationArb(n)),
        (a) => {
          const bytes = encodeAllocation(a);
          const back = decodeAllocation(bytes, ctx);
          expect(allocationEquals(a, back)).toBe(true);
          expect(encodeAllocation(back)).toEqual(bytes);
        },
      ),
      opts(300),
    );
  });

  it("state", () => {
    fc.assert(
      fc.property(
        paramsArb().chain((p) => stateArb(p)),
        (s) => {
          const bytes = encodeState(s);
          const back = decodeState(bytes, ctx, s.allocation.balances[0]?.length);
          expect(stateEquals(s, back)).toBe(true);
          expect(encodeState(back)).toEqual(bytes);
        },
      ),
      opts(300),
    );
  });

  it("transaction", () => {
    fc.assert(
      fc.property(transactionArb, ({ n, tx }) => {
        const bytes = encodeTransaction(tx);
        const back = decodeTransaction(bytes, ctx, n);
        expect(sigsEqual(tx.sigs, back.sigs)).toBe(true);
        expect(
          back.state === undefined ? tx.state === undefined : !!tx.state && stateEquals(tx.state, back.state),
        ).toBe(true);
        expect(encodeTransaction(back)).toEqual(bytes);
      }),
      opts(300),
    );
  });

  it("signed state", () => {
    fc.assert(
      fc.property(signedStateArb, (ss) => {
        const bytes = encodeSignedState(ss);
        const back = decodeSignedState(bytes, ctx);
        expect(paramsEqual(ss.params, back.params)).toBe(true);
        expect(stateEquals(ss.state, back.state)).toBe(true);
        expect(sigsEqual(ss.sigs, back.sigs)).toBe(true);
        expect(encodeSignedState(back)).toEqual(bytes);
      }),
      opts(300),
    );
  });
});

// ---- corrupted encodings ----------------------------------------------------------------------

type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "insert"; at: number; byte: number }
  | { kind: "delete"; at: number }
  | { kind: "truncate"; at: number }
  | { kind: "overwrite"; at: number; bytes: Uint8Array };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("overwrite" as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }),
  }),
);

function mutate(b: Uint8Array, m: Mutation): Uint8Array {
  const at = b.length === 0 ? 0 : m.at % b.length;
  switch (m.kind) {
    case "flip": {
      const out = b.slice();
      out[at] = (out[at] as number) ^ (1 << m.bit);
      return out;
    }
    case "insert":
      return Uint8Array.from([...b.subarray(0, at), m.byte, ...b.subarray(at)]);
    case "delete":
      return Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + 1)]);
    case "truncate":
      return b.slice(0, at);
    case "overwrite": {
      const out = b.slice();
      out.set(m.bytes.subarray(0, Math.max(0, b.length - at)), at);
      return out;
    }
  }
}

const outcomes = { decoded: 0, rejected: 0 };

/** Decodes with `decode`; success must re-encode canonically, failure must be a DecodeError. */
function decodesOrDecodeError<T>(
  bytes: Uint8Array,
  decode: (b: Uint8Array) => T,
  encode: (v: T) => Uint8Array,
): void {
  let value: T;
  try {
    value = decode(bytes);
  } catch (e) {
    if (!(e instanceof DecodeError))
      throw new Error(`decoder threw a non-DecodeError: ${String(e)}`, { cause: e });
    expect(e.reason.length).toBeGreaterThan(0);
    outcomes.rejected++;
    return;
  }
  outcomes.decoded++;
  const canonical = encode(value);
  expect(encode(decode(canonical))).toEqual(canonical);
}

const encodedArb = fc.oneof(
  paramsArb().map((p) => ({ kind: "params" as const, n: p.numParts, bytes: encodeParams(p) })),
  paramsArb()
    .chain(stateArb)
    .map((s) => ({
      kind: "state" as const,
      n: s.allocation.balances[0]?.length ?? 2,
      bytes: encodeState(s),
    })),
  transactionArb.map(({ n, tx }) => ({ kind: "transaction" as const, n, bytes: encodeTransaction(tx) })),
  signedStateArb.map((ss) => ({
    kind: "signedState" as const,
    n: ss.params.numParts,
    bytes: encodeSignedState(ss),
  })),
);

function decodeAsAll(bytes: Uint8Array, n: number): void {
  decodesOrDecodeError(bytes, (b) => decodeParams(b, ctx), encodeParams);
  decodesOrDecodeError(bytes, (b) => decodeAllocation(b, ctx), encodeAllocation);
  decodesOrDecodeError(bytes, (b) => decodeState(b, ctx), encodeState);
  decodesOrDecodeError(bytes, (b) => decodeTransaction(b, ctx, n), encodeTransaction);
  decodesOrDecodeError(bytes, (b) => decodeSignedState(b, ctx), encodeSignedState);
}

describe("corrupted encodings decode to a valid value or a DecodeError, nothing else", () => {
  it("mutated encodings (bit flips, insertions, deletions, truncations, overwrites)", () => {
    outcomes.decoded = 0;
    outcomes.rejected = 0;
    fc.assert(
      fc.property(encodedArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), ({ n, bytes }, ms) => {
        decodeAsAll(
          ms.reduce((b, m) => mutate(b, m), bytes),
          n,
        );
      }),
      opts(1500),
    );
    // Both outcomes occur, so the property is not vacuous.
    expect(outcomes.decoded).toBeGreaterThan(0);
    expect(outcomes.rejected).toBeGreaterThan(0);
  });

  it("every truncation of one encoding", () => {
    fc.assert(
      fc.property(encodedArb, ({ kind, n, bytes }) => {
        for (let len = 0; len < bytes.length; len++) {
          const cut = bytes.subarray(0, len);
          let failed = false;
          try {
            if (kind === "params") decodeParams(cut, ctx);
            else if (kind === "state") decodeState(cut, ctx);
            else if (kind === "transaction") decodeTransaction(cut, ctx, n);
            else decodeSignedState(cut, ctx);
          } catch (e) {
            expect(e).toBeInstanceOf(DecodeError);
            failed = true;
          }
          // A strict prefix of one msgpack item is never a complete item.
          expect(failed).toBe(true);
        }
      }),
      opts(100),
    );
  });

  it("random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 2, max: 4 }), (bytes, n) => {
        decodeAsAll(bytes, n);
      }),
      opts(1500),
    );
  });

  it("random msgpack-shaped values", () => {
    const leaf = fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.integer({ min: -2000, max: 2000 }),
      fc.double(),
      fc.uint8Array({ maxLength: 40 }),
      fc.string({ maxLength: 5 }),
    );
    const { tree } = fc.letrec<{ tree: unknown }>((t) => ({
      tree: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        leaf,
        fc.array(t("tree"), { maxLength: 7 }),
      ),
    }));
    fc.assert(
      fc.property(tree, fc.integer({ min: 2, max: 4 }), (v, n) => {
        decodeAsAll(rawEncode(v), n);
      }),
      opts(1000),
    );
  });
});
