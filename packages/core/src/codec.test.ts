import { encode as rawEncode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { type Allocation, allocationEquals } from "./allocation.js";
import { AppRegistry, appsEqual, noApp, PaymentApp } from "./app.js";
import {
  allocationToWire,
  CORE_MSGPACK_LIMITS,
  checkMsgpackStructure,
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
  type ParamsWire,
  paramsFromWire,
  paramsToWire,
  type SignedStateWire,
  type StateWire,
  signedStateToWire,
  stateFromWire,
  stateToWire,
  subAllocFromWire,
  transactionFromWire,
  transactionToWire,
  uintToWire,
} from "./codec.js";
import { DecodeError } from "./errors.js";
import { FakeAddress, FakeAsset, FakeBackend, fakeAccount } from "./fake-backend.test-helper.js";
import { MAX_BALANCE, MAX_UINT64 } from "./limits.js";
import { Params } from "./params.js";
import { type State, stateEquals } from "./state.js";
import type { SignedState, Transaction } from "./transaction.js";

const backend = new FakeBackend();
const appDef = new FakeAddress(new Uint8Array(20).fill(0x42));
const payment = new PaymentApp(appDef);
const apps = new AppRegistry().register(payment);
const ctx: DecodeContext = { backend, apps };
const alice = fakeAccount(1);
const bob = fakeAccount(2);

function params(over: Partial<Parameters<typeof Params.create>[0]> = {}): Params {
  return Params.create(
    {
      challengeDuration: 60n,
      parts: [alice.address, bob.address],
      app: payment,
      nonce: 0xdeadbeefn,
      ledgerChannel: true,
      virtualChannel: false,
      ...over,
    },
    backend,
  );
}

function allocation(): Allocation {
  return {
    assets: [new FakeAsset(1), new FakeAsset(2)],
    balances: [
      [10n, 0n],
      [MAX_BALANCE, 255n],
    ],
    locked: [{ id: new Uint8Array(32).fill(7), balances: [5n, 0n], indexMap: [1, 0] }],
  };
}

function state(p: Params, over: Partial<State> = {}): State {
  return {
    id: p.id,
    version: 3n,
    app: p.app,
    allocation: allocation(),
    data: new Uint8Array(),
    isFinal: false,
    ...over,
  };
}

async function signed(p: Params, s: State): Promise<SignedState> {
  return { params: p, state: s, sigs: [await backend.sign(alice, s), await backend.sign(bob, s)] };
}

function expectParamsEqual(a: Params, b: Params): void {
  expect(b.id).toEqual(a.id);
  expect(b.challengeDuration).toBe(a.challengeDuration);
  expect(b.nonce).toBe(a.nonce);
  expect(b.ledgerChannel).toBe(a.ledgerChannel);
  expect(b.virtualChannel).toBe(a.virtualChannel);
  expect(b.parts.map((x) => x.toString())).toEqual(a.parts.map((x) => x.toString()));
  expect(appsEqual(a.app, b.app)).toBe(true);
}

/** Runs `fn`, expects a DecodeError and returns its reason. */
function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    return (e as DecodeError).reason;
  }
  throw new Error("expected a DecodeError, but decoding succeeded");
}

describe("uintToWire", () => {
  it("is the minimal big-endian magnitude", () => {
    expect(uintToWire(0n)).toEqual(new Uint8Array());
    expect(uintToWire(1n)).toEqual(new Uint8Array([1]));
    expect(uintToWire(0x100n)).toEqual(new Uint8Array([1, 0]));
    expect(uintToWire(0xabcdefn)).toEqual(new Uint8Array([0xab, 0xcd, 0xef]));
    expect(uintToWire(MAX_BALANCE)).toEqual(new Uint8Array(32).fill(0xff));
    expect(() => uintToWire(-1n)).toThrow(RangeError);
  });
});

describe("round trips", () => {
  it("params (payment app, noApp, virtual, huge nonce)", () => {
    for (const p of [
      params(),
      params({ app: noApp, nonce: 0n }),
      params({ ledgerChannel: false, virtualChannel: true, challengeDuration: MAX_UINT64 }),
      params({ nonce: (1n << 256n) - 1n, parts: [alice.address, bob.address, fakeAccount(3).address] }),
    ]) {
      const back = decodeParams(encodeParams(p), ctx);
      expectParamsEqual(p, back);
      expect(encodeParams(back)).toEqual(encodeParams(p));
      expectParamsEqual(p, paramsFromWire(paramsToWire(p), ctx));
    }
  });

  it("allocation with a locked sub-allocation and its index map", () => {
    const a = allocation();
    const back = decodeAllocation(encodeAllocation(a), ctx);
    expect(allocationEquals(a, back)).toBe(true);
    expect(back.locked[0]?.indexMap).toEqual([1, 0]);
  });

  it("state, standalone (app resolved from the encoded definition)", () => {
    const p = params();
    const s = state(p, { version: MAX_UINT64, isFinal: true });
    const back = decodeState(encodeState(s), ctx);
    expect(stateEquals(s, back)).toBe(true);
    expect(back.app).toBe(payment);
    const n = state(params({ app: noApp }));
    expect(decodeState(encodeState(n), ctx, 2).app).toBe(noApp);
  });

  it("decoded bytes never alias a Node Buffer's memory", () => {
    const p = params();
    const s = state(p, { data: new Uint8Array([1, 2, 3]) });
    const buf = Buffer.from(encodeState(s));
    const back = decodeState(buf, ctx);
    buf.fill(0);
    expect(stateEquals(s, back)).toBe(true);
  });

  it("transactions: empty, partially and fully signed", async () => {
    const p = params();
    const s = state(p);
    const sa = await backend.sign(alice, s);
    const sb = await backend.sign(bob, s);
    const txs: Transaction[] = [
      { state: undefined, sigs: [] },
      { state: undefined, sigs: [undefined, undefined] },
      { state: s, sigs: [sa, undefined] },
      { state: s, sigs: [undefined, undefined] },
      { state: s, sigs: [sa, sb] },
    ];
    for (const tx of txs) {
      const back = decodeTransaction(encodeTransaction(tx), ctx, 2);
      expect(back.sigs).toEqual(tx.sigs);
      if (tx.state) expect(back.state && stateEquals(tx.state, back.state)).toBe(true);
      else expect(back.state).toBeUndefined();
      expect(transactionFromWire(transactionToWire(tx), ctx, 2).sigs).toEqual(tx.sigs);
    }
  });

  it("signed state; its signatures still verify after decoding", async () => {
    const p = params();
    const ss = await signed(p, state(p));
    const back = decodeSignedState(encodeSignedState(ss), ctx);
    expectParamsEqual(p, back.params);
    expect(stateEquals(ss.state, back.state)).toBe(true);
    expect(back.sigs).toEqual(ss.sigs);
    expect(await backend.verify(alice.address, back.state, back.sigs[0] as Uint8Array)).toBe(true);
  });
});

describe("canonical encoding", () => {
  it("does not depend on object key order or object identity", () => {
    const p = params();
    const s = state(p);
    const reordered: State = {
      isFinal: s.isFinal,
      data: s.data.slice(),
      allocation: {
        locked: s.allocation.locked.map((l) => ({
          indexMap: [...l.indexMap],
          balances: [...l.balances],
          id: l.id,
        })),
        balances: s.allocation.balances.map((r) => [...r]),
        assets: [new FakeAsset(1), new FakeAsset(2)],
      },
      app: new PaymentApp(new FakeAddress(appDef.bytes().slice())),
      version: s.version,
      id: p.id.slice(),
    };
    expect(encodeState(reordered)).toEqual(encodeState(s));
    const p2 = Params.create(
      {
        virtualChannel: false,
        ledgerChannel: true,
        nonce: 0xdeadbeefn,
        app: payment,
        parts: [alice.address, bob.address],
        challengeDuration: 60n,
      },
      backend,
    );
    expect(encodeParams(p2)).toEqual(encodeParams(p));
  });

  it("differs when any field differs", () => {
    const p = params();
    const base = encodeState(state(p));
    expect(encodeState(state(p, { version: 4n }))).not.toEqual(base);
    expect(encodeState(state(p, { isFinal: true }))).not.toEqual(base);
    expect(encodeState(state(p, { data: new Uint8Array([1]) }))).not.toEqual(base);
    const a = allocation();
    const swapped = { ...a, locked: [{ ...(a.locked[0] as Allocation["locked"][0]), indexMap: [0, 1] }] };
    expect(encodeState(state(p, { allocation: swapped }))).not.toEqual(base);
  });

  it("caches params encodings but hands out copies", () => {
    const p = params();
    const first = encodeParams(p);
    first.fill(0);
    expect(encodeParams(p)).not.toEqual(first);
    expect(decodeParams(encodeParams(p), ctx).id).toEqual(p.id);
    expect(paramsToWire(p)).toBe(paramsToWire(p));
  });

  it("decoded values do not alias the input bytes", () => {
    const p = params();
    const s = state(p, { data: new Uint8Array([9, 9, 9]) });
    const bytes = encodeState(s);
    const back = decodeState(bytes, ctx);
    bytes.fill(0);
    expect(stateEquals(s, back)).toBe(true);
  });
});

function paramsWire(over: Partial<Record<number, unknown>> = {}): unknown[] {
  const w: unknown[] = [...(paramsToWire(params()) as ParamsWire)];
  for (const [k, v] of Object.entries(over)) w[Number(k)] = v;
  return w;
}

function stateWire(over: Partial<Record<number, unknown>> = {}): unknown[] {
  const w: unknown[] = [...(stateToWire(state(params())) as StateWire)];
  for (const [k, v] of Object.entries(over)) w[Number(k)] = v;
  return w;
}

function allocWire(over: Partial<Record<number, unknown>> = {}): unknown[] {
  const w: unknown[] = [...allocationToWire(allocation())];
  for (const [k, v] of Object.entries(over)) w[Number(k)] = v;
  return w;
}

const addr = (i: number) => new Uint8Array(20).fill(i & 0xff).map((x, j) => (j === 0 ? i >> 8 : x));

describe("hostile input is rejected with DecodeError and a specific reason", () => {
  it("2000 parts", () => {
    const parts = Array.from({ length: 2000 }, (_, i) => addr(i));
    expect(reasonOf(() => decodeParams(rawEncode(paramsWire({ 1: parts })), ctx))).toMatch(
      /array at byte \d+ declares 2000 elements, more than the limit 1024/,
    );
    expect(reasonOf(() => paramsFromWire(paramsWire({ 1: parts }), ctx))).toBe(
      "params.parts: expected 2..1024 elements, got 2000",
    );
  });

  it("one participant, repeated participants", () => {
    expect(reasonOf(() => paramsFromWire(paramsWire({ 1: [addr(1)] }), ctx))).toBe(
      "params.parts: expected 2..1024 elements, got 1",
    );
    expect(reasonOf(() => decodeParams(rawEncode(paramsWire({ 1: [addr(1), addr(1)] })), ctx))).toMatch(
      /^params: participant 1 repeats participant 0/,
    );
  });

  it("33-byte nonce, 9-byte version/duration, 33-byte balance", () => {
    expect(reasonOf(() => decodeParams(rawEncode(paramsWire({ 3: new Uint8Array(33).fill(1) })), ctx))).toBe(
      "params.nonce: integer of 33 bytes exceeds 32 bytes",
    );
    expect(reasonOf(() => decodeParams(rawEncode(paramsWire({ 0: new Uint8Array(9).fill(1) })), ctx))).toBe(
      "params.challengeDuration: integer of 9 bytes exceeds 8 bytes",
    );
    expect(reasonOf(() => decodeState(rawEncode(stateWire({ 1: new Uint8Array(9).fill(1) })), ctx))).toBe(
      "state.version: integer of 9 bytes exceeds 8 bytes",
    );
    const bals = [
      [new Uint8Array(33).fill(1), new Uint8Array()],
      [new Uint8Array(), new Uint8Array()],
    ];
    expect(reasonOf(() => decodeState(rawEncode(stateWire({ 3: allocWire({ 1: bals }) })), ctx))).toBe(
      "state.allocation.balances[0][0]: integer of 33 bytes exceeds 32 bytes",
    );
  });

  it("non-canonical integers (leading zero byte) and a zero challenge duration", () => {
    expect(reasonOf(() => decodeParams(rawEncode(paramsWire({ 3: new Uint8Array([0, 1]) })), ctx))).toBe(
      "params.nonce: non-canonical integer (leading zero byte)",
    );
    expect(reasonOf(() => decodeParams(rawEncode(paramsWire({ 0: new Uint8Array([0]) })), ctx))).toBe(
      "params.challengeDuration: non-canonical integer (leading zero byte)",
    );
    expect(reasonOf(() => decodeParams(rawEncode(paramsWire({ 0: new Uint8Array() })), ctx))).toMatch(
      /^params: challenge duration must be a positive bigint/,
    );
  });

  it("negative, fractional and oversized numbers where integers or bins belong", () => {
    const sub = (indexMap: unknown[]) => [
      [new Uint8Array(32).fill(7), [new Uint8Array([5]), new Uint8Array()], indexMap],
    ];
    for (const bad of [-1, 1.5, 1024, 2 ** 53, Number.NaN]) {
      expect(reasonOf(() => decodeAllocation(rawEncode(allocWire({ 2: sub([bad]) })), ctx))).toMatch(
        /^allocation\.locked\[0\]\.indexMap\[0\]: expected an integer in 0\.\.1023/,
      );
    }
    expect(reasonOf(() => decodeAllocation(rawEncode(allocWire({ 2: sub([5]) })), ctx))).toMatch(
      /^allocation: locked 0 index map entry 5 is not a participant index/,
    );
    expect(reasonOf(() => decodeState(rawEncode(stateWire({ 1: -5 })), ctx))).toBe(
      "state.version: expected bin, got number",
    );
    expect(
      reasonOf(() => decodeState(rawEncode(stateWire({ 1: 2n ** 63n }), { useBigInt64: true }), ctx)),
    ).toBe("state.version: expected bin, got number");
  });

  it("wrong types, missing and extra fields", () => {
    expect(reasonOf(() => decodeParams(rawEncode(paramsWire({ 4: 1 })), ctx))).toBe(
      "params.ledgerChannel: expected a boolean, got number",
    );
    expect(reasonOf(() => decodeParams(rawEncode([...paramsWire(), true]), ctx))).toBe(
      "params: expected 6 fields, got 7",
    );
    expect(reasonOf(() => decodeParams(rawEncode(paramsWire().slice(0, 5)), ctx))).toBe(
      "params: expected 6 fields, got 5",
    );
    expect(reasonOf(() => decodeState(rawEncode(stateWire({ 0: "id" })), ctx))).toBe(
      "state.id: expected bin, got string",
    );
    expect(reasonOf(() => decodeState(rawEncode(stateWire({ 0: new Uint8Array(31) })), ctx))).toBe(
      "state.id: expected 32 bytes, got 31",
    );
    expect(reasonOf(() => decodeParams(rawEncode({ a: 1 }), ctx))).toMatch(
      /^params: unexpected map at byte 0/,
    );
    expect(reasonOf(() => decodeParams(rawEncode(new Date(0)), ctx))).toMatch(/unexpected extension type/);
    expect(reasonOf(() => decodeParams(rawEncode(null), ctx))).toBe(
      "params: expected an array of 6 fields, got null",
    );
    expect(reasonOf(() => decodeParams("not bytes" as unknown as Uint8Array, ctx))).toBe(
      "params: input is not a Uint8Array",
    );
    expect(reasonOf(() => subAllocFromWire([new Uint8Array(32), [], [], 1]))).toBe(
      "subAlloc: expected 3 fields, got 4",
    );
  });

  it("allocation dimension errors", () => {
    expect(reasonOf(() => decodeAllocation(rawEncode(allocWire({ 0: [] })), ctx))).toBe(
      "allocation.assets: expected 1..1024 elements, got 0",
    );
    expect(reasonOf(() => decodeAllocation(rawEncode(allocWire({ 1: [[new Uint8Array()]] })), ctx))).toBe(
      "allocation.balances: expected 2..2 elements, got 1",
    );
    const ragged = [[new Uint8Array([1]), new Uint8Array()], [new Uint8Array()]];
    expect(reasonOf(() => decodeAllocation(rawEncode(allocWire({ 1: ragged })), ctx))).toMatch(
      /^allocation: asset 1 has 1 balances, expected 2/,
    );
    expect(
      reasonOf(() =>
        decodeAllocation(rawEncode(allocWire({ 0: [new Uint8Array(2), new Uint8Array(1)] })), ctx),
      ),
    ).toBe("allocation.assets[0]: fake asset must be 1 byte, got 2");
    const twice = allocWire().at(2) as unknown[];
    expect(reasonOf(() => decodeAllocation(rawEncode(allocWire({ 2: [twice[0], twice[0]] })), ctx))).toMatch(
      /is locked twice/,
    );
  });

  it("deep nesting and huge declared lengths", () => {
    const deep = new Uint8Array(100_001).fill(0x91);
    deep[100_000] = 0xc0;
    expect(reasonOf(() => decodeState(deep, ctx))).toMatch(/^state: nesting deeper than 8 at byte 8/);
    const hugeBin = new Uint8Array([0xc6, 0xff, 0xff, 0xff, 0xff, 1, 2]);
    expect(reasonOf(() => decodeState(hugeBin, ctx))).toBe(
      "state: bin at byte 0 of 4294967295 bytes exceeds 65536",
    );
    const bigButUnderLimit = new Uint8Array([0xc5, 0xff, 0xff, 1, 2]);
    expect(reasonOf(() => decodeState(bigButUnderLimit, ctx))).toBe(
      "state: bin at byte 0 declares 65535 bytes but only 2 remain",
    );
    const hugeArray = new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff]);
    expect(reasonOf(() => decodeState(hugeArray, ctx))).toBe(
      "state: array at byte 0 declares 4294967295 elements, more than the limit 1024",
    );
    const emptyArray = new Uint8Array([0xdc, 0x04, 0x00, 0xc0]);
    expect(reasonOf(() => decodeState(emptyArray, ctx))).toBe(
      "state: array at byte 0 declares 1024 elements but only 1 bytes remain",
    );
    const hugeStr = new Uint8Array([0xdb, 0x7f, 0xff, 0xff, 0xff]);
    expect(reasonOf(() => decodeState(hugeStr, ctx))).toMatch(
      /^state: str at byte 0 of 2147483647 bytes exceeds 256/,
    );
    const appData = new Uint8Array(65537);
    expect(reasonOf(() => decodeState(rawEncode(stateWire({ 4: appData })), ctx))).toMatch(/exceeds 65536/);
    expect(() => checkMsgpackStructure(rawEncode([1, [2, [3]]]), CORE_MSGPACK_LIMITS)).not.toThrow();
  });

  it("truncation and trailing bytes", () => {
    const bytes = encodeState(state(params()));
    expect(reasonOf(() => decodeState(bytes.subarray(0, bytes.length - 1), ctx))).toMatch(
      /^state: .*remain|truncated/,
    );
    const extra = new Uint8Array(bytes.length + 1);
    extra.set(bytes);
    expect(reasonOf(() => decodeState(extra, ctx))).toBe(
      `state: 1 trailing bytes after the value at byte ${bytes.length}`,
    );
    expect(reasonOf(() => decodeState(new Uint8Array(), ctx))).toBe("state: truncated: input ends at byte 0");
  });

  it("unknown apps and malformed addresses", () => {
    const unknownDef = new Uint8Array(20).fill(0x77);
    expect(reasonOf(() => decodeState(rawEncode(stateWire({ 2: unknownDef })), ctx))).toMatch(
      /^state\.app: unknown app fake:7777/,
    );
    expect(
      reasonOf(() => decodeParams(rawEncode(paramsWire({ 1: [addr(1), new Uint8Array(3)] })), ctx)),
    ).toBe("params.parts[1]: fake address must be 20 bytes, got 3");
  });

  it("wraps any exception of the backend or registry", () => {
    const throwing: DecodeContext = {
      backend: Object.assign(Object.create(backend) as FakeBackend, {
        decodeAsset(): never {
          throw new TypeError("boom");
        },
      }),
      apps: {
        resolve(): never {
          throw "a string"; // not even an Error
        },
      },
    };
    const e = (() => {
      try {
        decodeAllocation(encodeAllocation(allocation()), throwing);
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(DecodeError);
    expect((e as DecodeError).reason).toBe("allocation.assets[0]: boom");
    expect((e as DecodeError).cause).toBeInstanceOf(TypeError);
    expect(reasonOf(() => decodeParams(encodeParams(params()), throwing))).toBe("params.app: a string");
  });

  it("transaction signature slots", async () => {
    const p = params();
    const s = state(p);
    const sig = await backend.sign(alice, s);
    const sw = stateToWire(s);
    expect(reasonOf(() => decodeTransaction(rawEncode([sw, [sig]]), ctx, 2))).toBe(
      "transaction.sigs: expected 2 signature slots, got 1",
    );
    expect(reasonOf(() => decodeTransaction(rawEncode([sw, [sig, sig.subarray(1)]]), ctx, 2))).toBe(
      "transaction.sigs[1]: expected 33 bytes, got 32",
    );
    expect(reasonOf(() => decodeTransaction(rawEncode([null, [sig, null]]), ctx, 2))).toBe(
      "transaction.sigs[0]: signature without a state",
    );
    expect(reasonOf(() => decodeTransaction(rawEncode([null, [null]]), ctx, 2))).toBe(
      "transaction.sigs: expected 0 or 2 signature slots, got 1",
    );
    expect(reasonOf(() => decodeTransaction(encodeTransaction({ state: s, sigs: [sig, sig] }), ctx, 3))).toBe(
      "transaction.state.allocation: has 2 participants, expected 3",
    );
    expect(
      reasonOf(() => decodeTransaction(encodeTransaction({ state: s, sigs: [sig, sig] }), ctx, 1)),
    ).toMatch(/invalid participant count 1/);
  });

  it("signed state consistency", async () => {
    const p = params();
    const ss = await signed(p, state(p));
    const w = [...signedStateToWire(ss)] as unknown[] as [ParamsWire, StateWire, Uint8Array[]];
    const otherId = new Uint8Array(32).fill(3);
    const wrongId: SignedStateWire = [w[0], [otherId, ...w[1].slice(1)] as unknown as StateWire, w[2]];
    expect(reasonOf(() => decodeSignedState(rawEncode(wrongId), ctx))).toMatch(
      /^signedState\.state\.id: 0x0303.* is not the parameters' id/,
    );
    const noAppState = stateToWire(state(p, { app: noApp }));
    expect(reasonOf(() => decodeSignedState(rawEncode([w[0], noAppState, w[2]]), ctx))).toBe(
      "signedState.state.app: differs from the parameters' app",
    );
    expect(reasonOf(() => decodeSignedState(rawEncode([w[0], w[1], [w[2][0], null]]), ctx))).toBe(
      "signedState.sigs[1]: expected bin, got null",
    );
    expect(reasonOf(() => decodeSignedState(rawEncode([w[0], w[1], [w[2][0]]]), ctx))).toBe(
      "signedState.sigs: expected 2..2 elements, got 1",
    );
    expect(reasonOf(() => stateFromWire(w[1], ctx, 3))).toBe(
      "state.allocation: has 2 participants, expected 3",
    );
  });

  it("both ledger and virtual", () => {
    expect(reasonOf(() => decodeParams(rawEncode(paramsWire({ 4: true, 5: true })), ctx))).toMatch(
      /^params: a channel cannot be both ledger and virtual/,
    );
  });
});
