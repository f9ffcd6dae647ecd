// The value layer of the canonical codec: core types <-> plain msgpack-able values (arrays, bin,
// numbers, booleans, null). Positional arrays, never maps, so the encoding cannot depend on key
// order. The *FromWire functions accept `unknown` (e.g. a field of a wire message decoded by
// another package), validate everything and throw only `DecodeError`.
import { type Allocation, numParts, type SubAlloc, validateAllocation } from "./allocation.js";
import { type App, type AppRegistry, appsEqual } from "./app.js";
import type { Asset } from "./asset.js";
import { bytesToBigint, copyBytes, toHex } from "./bytes.js";
import type { ChannelBackend } from "./channel-backend.js";
import { CHANNEL_ID_LENGTH, channelIdEquals } from "./channel-id.js";
import { DecodeError } from "./errors.js";
import type { Address, Signature } from "./identity.js";
import { MAX_APP_DATA, MAX_ASSETS, MAX_LOCKED, MAX_PARTS, MIN_PARTS } from "./limits.js";
import { Params } from "./params.js";
import type { State } from "./state.js";
import type { SignedState, Transaction } from "./transaction.js";

/** What decoding needs: the backend (addresses, assets, ids, signature length) and the apps. */
export interface DecodeContext {
  readonly backend: ChannelBackend;
  readonly apps: Pick<AppRegistry, "resolve">;
}

/** An unsigned integer: minimal big-endian magnitude (0 = empty, never a leading zero byte). */
export type UintWire = Uint8Array;

/** `[challengeDuration, parts, appDef | null, nonce, ledgerChannel, virtualChannel]`; no id. */
export type ParamsWire = readonly [
  challengeDuration: UintWire,
  parts: readonly Uint8Array[],
  app: Uint8Array | null,
  nonce: UintWire,
  ledgerChannel: boolean,
  virtualChannel: boolean,
];

/** `[childId (32 bytes), balances per asset, indexMap]`. */
export type SubAllocWire = readonly [
  id: Uint8Array,
  balances: readonly UintWire[],
  indexMap: readonly number[],
];

/** `[assets, balances[asset][participant], locked]`. */
export type AllocationWire = readonly [
  assets: readonly Uint8Array[],
  balances: readonly (readonly UintWire[])[],
  locked: readonly SubAllocWire[],
];

/** `[id (32 bytes), version, appDef | null, allocation, data, isFinal]`. */
export type StateWire = readonly [
  id: Uint8Array,
  version: UintWire,
  app: Uint8Array | null,
  allocation: AllocationWire,
  data: Uint8Array,
  isFinal: boolean,
];

/** `[state | null, sigs]`; a missing signature is `null`. */
export type TransactionWire = readonly [state: StateWire | null, sigs: readonly (Uint8Array | null)[]];

/** `[params, state, sigs]`; every signature present. */
export type SignedStateWire = readonly [params: ParamsWire, state: StateWire, sigs: readonly Uint8Array[]];

const MAX_U64_BYTES = 8;
const MAX_U256_BYTES = 32;

// ---------------------------------------------------------------------------------------------
// encoding

const HEX_VALUES = /* @__PURE__ */ (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < 10; i++) t[48 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[97 + i] = 10 + i;
    t[65 + i] = 10 + i;
  }
  return t;
})();

/** Minimal big-endian magnitude of a non-negative bigint (0 → empty); RangeError if negative. */
export function uintToWire(v: bigint): UintWire {
  if (v < 0n) throw new RangeError("cannot encode a negative integer");
  if (v === 0n) return new Uint8Array(0);
  if (v < 256n) return new Uint8Array([Number(v)]);
  const hex = v.toString(16);
  const odd = hex.length & 1;
  const out = new Uint8Array((hex.length + odd) >> 1);
  let j = 0;
  let i = 0;
  if (odd) out[j++] = HEX_VALUES[hex.charCodeAt(i++)] as number;
  for (; i < hex.length; i += 2) {
    out[j++] =
      ((HEX_VALUES[hex.charCodeAt(i)] as number) << 4) | (HEX_VALUES[hex.charCodeAt(i + 1)] as number);
  }
  return out;
}

function appToWire(app: App): Uint8Array | null {
  return app.def === null ? null : app.def.bytes();
}

// Params are immutable (frozen), so their wire value is computed once per object.
const paramsWireCache = new WeakMap<Params, ParamsWire>();

/** The wire value of `p` (cached per `Params` object; treat it as read-only). */
export function paramsToWire(p: Params): ParamsWire {
  const cached = paramsWireCache.get(p);
  if (cached) return cached;
  const w: ParamsWire = Object.freeze([
    uintToWire(p.challengeDuration),
    Object.freeze(p.parts.map((a) => a.bytes())),
    appToWire(p.app),
    uintToWire(p.nonce),
    p.ledgerChannel,
    p.virtualChannel,
  ] as const);
  paramsWireCache.set(p, w);
  return w;
}

export function subAllocToWire(s: SubAlloc): SubAllocWire {
  return [s.id, s.balances.map(uintToWire), s.indexMap];
}

export function allocationToWire(a: Allocation): AllocationWire {
  return [
    a.assets.map((x) => x.bytes()),
    a.balances.map((row) => row.map(uintToWire)),
    a.locked.map(subAllocToWire),
  ];
}

export function stateToWire(s: State): StateWire {
  return [s.id, uintToWire(s.version), appToWire(s.app), allocationToWire(s.allocation), s.data, s.isFinal];
}

export function transactionToWire(tx: Transaction): TransactionWire {
  return [tx.state === undefined ? null : stateToWire(tx.state), tx.sigs.map((x) => x ?? null)];
}

export function signedStateToWire(s: SignedState): SignedStateWire {
  return [paramsToWire(s.params), stateToWire(s.state), s.sigs];
}

// ---------------------------------------------------------------------------------------------
// decoding

function describe(e: unknown): string {
  if (e instanceof DecodeError) return e.reason;
  if (e instanceof Error) return e.message;
  try {
    return String(e);
  } catch {
    return "unprintable error";
  }
}

function fail(path: string, reason: string): never {
  throw new DecodeError(`${path}: ${reason}`);
}

/** Runs `fn` and turns anything it throws into a `DecodeError` located at `path`. */
function guard<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new DecodeError(`${path}: ${describe(e)}`, { cause: e });
  }
}

/** Outer safety net of each public decoder: only `DecodeError` leaves it. */
function entry<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError(`${what}: ${describe(e)}`, { cause: e });
  }
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (v instanceof Uint8Array) return "bin";
  return typeof v;
}

function tuple(v: unknown, n: number, path: string): readonly unknown[] {
  if (!Array.isArray(v)) fail(path, `expected an array of ${n} fields, got ${typeName(v)}`);
  if (v.length !== n) fail(path, `expected ${n} fields, got ${v.length}`);
  return v;
}

function list(v: unknown, min: number, max: number, path: string): readonly unknown[] {
  if (!Array.isArray(v)) fail(path, `expected an array, got ${typeName(v)}`);
  if (v.length < min || v.length > max) fail(path, `expected ${min}..${max} elements, got ${v.length}`);
  return v;
}

function bin(v: unknown, path: string): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(path, `expected bin, got ${typeName(v)}`);
  return v;
}

function fixedBin(v: unknown, len: number, path: string): Uint8Array {
  const b = bin(v, path);
  if (b.length !== len) fail(path, `expected ${len} bytes, got ${b.length}`);
  return copyBytes(b);
}

function bool(v: unknown, path: string): boolean {
  if (typeof v !== "boolean") fail(path, `expected a boolean, got ${typeName(v)}`);
  return v;
}

function uint(v: unknown, maxBytes: number, path: string): bigint {
  const b = bin(v, path);
  if (b.length > maxBytes) fail(path, `integer of ${b.length} bytes exceeds ${maxBytes} bytes`);
  if (b.length > 0 && b[0] === 0) fail(path, "non-canonical integer (leading zero byte)");
  return bytesToBigint(b);
}

function address(v: unknown, backend: ChannelBackend, path: string): Address {
  const b = copyBytes(bin(v, path));
  return guard(path, () => backend.decodeAddress(b));
}

function asset(v: unknown, backend: ChannelBackend, path: string): Asset {
  const b = copyBytes(bin(v, path));
  return guard(path, () => backend.decodeAsset(b));
}

function app(v: unknown, ctx: DecodeContext, path: string): App {
  if (v === null) return guard(path, () => ctx.apps.resolve(null));
  const def = address(v, ctx.backend, path);
  return guard(path, () => ctx.apps.resolve(def));
}

function sig(v: unknown, backend: ChannelBackend, path: string): Signature {
  return fixedBin(v, backend.signatureLength, path);
}

function decodeParamsValue(v: unknown, ctx: DecodeContext, path: string): Params {
  const f = tuple(v, 6, path);
  const challengeDuration = uint(f[0], MAX_U64_BYTES, `${path}.challengeDuration`);
  const partsList = list(f[1], MIN_PARTS, MAX_PARTS, `${path}.parts`);
  const parts = partsList.map((x, i) => address(x, ctx.backend, `${path}.parts[${i}]`));
  const appValue = app(f[2], ctx, `${path}.app`);
  const nonce = uint(f[3], MAX_U256_BYTES, `${path}.nonce`);
  const ledgerChannel = bool(f[4], `${path}.ledgerChannel`);
  const virtualChannel = bool(f[5], `${path}.virtualChannel`);
  return guard(path, () =>
    Params.create(
      { challengeDuration, parts, app: appValue, nonce, ledgerChannel, virtualChannel },
      ctx.backend,
    ),
  );
}

function decodeSubAllocValue(v: unknown, path: string): SubAlloc {
  const f = tuple(v, 3, path);
  const id = fixedBin(f[0], CHANNEL_ID_LENGTH, `${path}.id`);
  const balances = list(f[1], 0, MAX_ASSETS, `${path}.balances`).map((x, i) =>
    uint(x, MAX_U256_BYTES, `${path}.balances[${i}]`),
  );
  const indexMap = list(f[2], 0, MAX_PARTS, `${path}.indexMap`).map((x, i) => {
    if (typeof x !== "number" || !Number.isInteger(x) || x < 0 || x >= MAX_PARTS) {
      fail(`${path}.indexMap[${i}]`, `expected an integer in 0..${MAX_PARTS - 1}, got ${typeName(x)} ${x}`);
    }
    return x;
  });
  return { id, balances, indexMap };
}

function decodeAllocationValue(v: unknown, ctx: DecodeContext, path: string): Allocation {
  const f = tuple(v, 3, path);
  const assets = list(f[0], 1, MAX_ASSETS, `${path}.assets`).map((x, i) =>
    asset(x, ctx.backend, `${path}.assets[${i}]`),
  );
  const rows = list(f[1], assets.length, assets.length, `${path}.balances`);
  const balances = rows.map((row, i) =>
    list(row, 1, MAX_PARTS, `${path}.balances[${i}]`).map((x, j) =>
      uint(x, MAX_U256_BYTES, `${path}.balances[${i}][${j}]`),
    ),
  );
  const locked = list(f[2], 0, MAX_LOCKED, `${path}.locked`).map((x, k) =>
    decodeSubAllocValue(x, `${path}.locked[${k}]`),
  );
  const allocation: Allocation = { assets, balances, locked };
  guard(path, () => validateAllocation(allocation));
  return allocation;
}

function decodeStateValue(v: unknown, ctx: DecodeContext, parts: number | undefined, path: string): State {
  const f = tuple(v, 6, path);
  const id = fixedBin(f[0], CHANNEL_ID_LENGTH, `${path}.id`);
  const version = uint(f[1], MAX_U64_BYTES, `${path}.version`);
  const appValue = app(f[2], ctx, `${path}.app`);
  const allocation = decodeAllocationValue(f[3], ctx, `${path}.allocation`);
  const data = bin(f[4], `${path}.data`);
  if (data.length > MAX_APP_DATA) fail(`${path}.data`, `${data.length} bytes exceed ${MAX_APP_DATA}`);
  const isFinal = bool(f[5], `${path}.isFinal`);
  if (parts !== undefined && numParts(allocation) !== parts) {
    fail(`${path}.allocation`, `has ${numParts(allocation)} participants, expected ${parts}`);
  }
  return { id, version, app: appValue, allocation, data: copyBytes(data), isFinal };
}

function decodeTransactionValue(v: unknown, ctx: DecodeContext, n: number, path: string): Transaction {
  if (!Number.isInteger(n) || n < MIN_PARTS || n > MAX_PARTS) {
    fail(path, `invalid participant count ${n} given to the decoder`);
  }
  const f = tuple(v, 2, path);
  const state = f[0] === null ? undefined : decodeStateValue(f[0], ctx, n, `${path}.state`);
  const rawSigs = list(f[1], 0, MAX_PARTS, `${path}.sigs`);
  if (state !== undefined && rawSigs.length !== n) {
    fail(`${path}.sigs`, `expected ${n} signature slots, got ${rawSigs.length}`);
  }
  if (state === undefined && rawSigs.length !== 0 && rawSigs.length !== n) {
    fail(`${path}.sigs`, `expected 0 or ${n} signature slots, got ${rawSigs.length}`);
  }
  const sigs = rawSigs.map((x, i) => {
    if (x === null) return undefined;
    if (state === undefined) fail(`${path}.sigs[${i}]`, "signature without a state");
    return sig(x, ctx.backend, `${path}.sigs[${i}]`);
  });
  return { state, sigs };
}

function decodeSignedStateValue(v: unknown, ctx: DecodeContext, path: string): SignedState {
  const f = tuple(v, 3, path);
  const params = decodeParamsValue(f[0], ctx, `${path}.params`);
  const state = decodeStateValue(f[1], ctx, params.numParts, `${path}.state`);
  if (!channelIdEquals(state.id, params.id)) {
    fail(`${path}.state.id`, `0x${toHex(state.id)} is not the parameters' id 0x${toHex(params.id)}`);
  }
  if (!appsEqual(state.app, params.app)) fail(`${path}.state.app`, "differs from the parameters' app");
  const sigs = list(f[2], params.numParts, params.numParts, `${path}.sigs`).map((x, i) =>
    sig(x, ctx.backend, `${path}.sigs[${i}]`),
  );
  return { params, state, sigs };
}

/**
 * Decodes and validates a params wire value: limits, types, canonical integers, `validateParams`,
 * the app through `ctx.apps`, and the id recomputed by `ctx.backend` (the id is not encoded).
 * Throws only `DecodeError`.
 */
export function paramsFromWire(v: unknown, ctx: DecodeContext): Params {
  return entry("params", () => decodeParamsValue(v, ctx, "params"));
}

/** Decodes a sub-allocation wire value (its dimensions are checked by the allocation decoder). */
export function subAllocFromWire(v: unknown): SubAlloc {
  return entry("subAlloc", () => decodeSubAllocValue(v, "subAlloc"));
}

/** Decodes an allocation wire value and checks `validateAllocation`. Throws only `DecodeError`. */
export function allocationFromWire(v: unknown, ctx: DecodeContext): Allocation {
  return entry("allocation", () => decodeAllocationValue(v, ctx, "allocation"));
}

/**
 * Decodes a state wire value, resolving its app through `ctx.apps`. With `parts`, also checks that
 * the allocation has that many participants. Throws only `DecodeError`.
 */
export function stateFromWire(v: unknown, ctx: DecodeContext, parts?: number): State {
  return entry("state", () => decodeStateValue(v, ctx, parts, "state"));
}

/**
 * Decodes a transaction of a channel with `parts` participants: a state with `parts` signature
 * slots, or no state with no (or only empty) slots. Signatures must have the backend's length.
 */
export function transactionFromWire(v: unknown, ctx: DecodeContext, parts: number): Transaction {
  return entry("transaction", () => decodeTransactionValue(v, ctx, parts, "transaction"));
}

/**
 * Decodes a signed state: params, a state with the params' id, app and participant count, and one
 * signature per participant (signatures are not verified here). Throws only `DecodeError`.
 */
export function signedStateFromWire(v: unknown, ctx: DecodeContext): SignedState {
  return entry("signedState", () => decodeSignedStateValue(v, ctx, "signedState"));
}
