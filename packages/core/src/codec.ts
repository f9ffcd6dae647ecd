// The byte layer of the canonical codec: msgpack of the wire values of codec-wire.ts. Encoding is
// deterministic (positional arrays, minimal integers), so `encodeState(state)` is what backends
// sign. Decoding first checks the msgpack structure against hard limits, then validates the value
// fully; it throws only `DecodeError`.
import { Decoder, Encoder } from "@msgpack/msgpack";
import type { Allocation } from "./allocation.js";
import { checkMsgpackStructure, type MsgpackStructureLimits } from "./codec-scan.js";
import {
  allocationFromWire,
  allocationToWire,
  type DecodeContext,
  paramsFromWire,
  paramsToWire,
  signedStateFromWire,
  signedStateToWire,
  stateFromWire,
  stateToWire,
  transactionFromWire,
  transactionToWire,
} from "./codec-wire.js";
import { DecodeError } from "./errors.js";
import { MAX_APP_DATA, MAX_ASSETS, MAX_LOCKED, MAX_PARTS } from "./limits.js";
import type { Params } from "./params.js";
import type { State } from "./state.js";
import type { SignedState, Transaction } from "./transaction.js";

export * from "./codec-scan.js";
export * from "./codec-wire.js";

/**
 * Structural limits of every core encoding: the deepest value (a signed state or transaction) nests
 * arrays 6 levels deep; no array is longer than 1024; the largest bin is the app data.
 */
export const CORE_MSGPACK_LIMITS: MsgpackStructureLimits = Object.freeze({
  maxDepth: 8,
  maxArrayLength: Math.max(MAX_PARTS, MAX_ASSETS, MAX_LOCKED),
  maxBinLength: MAX_APP_DATA,
  maxStrLength: 256,
  allowMaps: false,
  maxMapLength: 0,
});

// One encoder/decoder per module: both are stateless between calls (and clone themselves if
// re-entered), so sharing them only saves allocations.
const encoder = /* @__PURE__ */ new Encoder({
  initialBufferSize: 512,
  maxDepth: CORE_MSGPACK_LIMITS.maxDepth,
});
const decoder = /* @__PURE__ */ new Decoder({
  maxStrLength: CORE_MSGPACK_LIMITS.maxStrLength,
  maxBinLength: CORE_MSGPACK_LIMITS.maxBinLength,
  maxArrayLength: CORE_MSGPACK_LIMITS.maxArrayLength,
  maxMapLength: 0,
  maxExtLength: 0,
});

/** Parses msgpack bytes into a plain value under {@link CORE_MSGPACK_LIMITS}; only `DecodeError`. */
export function decodeCoreMsgpack(bytes: Uint8Array, what: string): unknown {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError(`${what}: input is not a Uint8Array`);
  try {
    checkMsgpackStructure(bytes, CORE_MSGPACK_LIMITS);
  } catch (e) {
    throw new DecodeError(`${what}: ${e instanceof DecodeError ? e.reason : String(e)}`, { cause: e });
  }
  try {
    return decoder.decode(bytes);
  } catch (e) {
    throw new DecodeError(`${what}: malformed msgpack: ${e instanceof Error ? e.message : "unknown error"}`, {
      cause: e,
    });
  }
}

// Params are immutable, so their encoding is computed once per object.
const paramsBytesCache = new WeakMap<Params, Uint8Array>();

/** Canonical encoding of `p` (without its id, which decoding recomputes). Cached per object. */
export function encodeParams(p: Params): Uint8Array {
  let bytes = paramsBytesCache.get(p);
  if (bytes === undefined) {
    bytes = encoder.encode(paramsToWire(p));
    paramsBytesCache.set(p, bytes);
  }
  return bytes.slice();
}

/** Canonical encoding of an allocation. */
export function encodeAllocation(a: Allocation): Uint8Array {
  return encoder.encode(allocationToWire(a));
}

/** Canonical encoding of a state, app definition included: the bytes a backend signs. */
export function encodeState(s: State): Uint8Array {
  return encoder.encode(stateToWire(s));
}

/** Canonical encoding of a transaction (state or none, and its signature slots). */
export function encodeTransaction(tx: Transaction): Uint8Array {
  return encoder.encode(transactionToWire(tx));
}

/** Canonical encoding of a signed state (params, state, signatures). */
export function encodeSignedState(s: SignedState): Uint8Array {
  return encoder.encode(signedStateToWire(s));
}

/** Decodes and fully validates params (id recomputed via `ctx.backend`); throws only `DecodeError`. */
export function decodeParams(bytes: Uint8Array, ctx: DecodeContext): Params {
  return paramsFromWire(decodeCoreMsgpack(bytes, "params"), ctx);
}

/** Decodes and validates an allocation; throws only `DecodeError`. */
export function decodeAllocation(bytes: Uint8Array, ctx: DecodeContext): Allocation {
  return allocationFromWire(decodeCoreMsgpack(bytes, "allocation"), ctx);
}

/** Decodes and validates a state (optionally of a channel with `parts` participants). */
export function decodeState(bytes: Uint8Array, ctx: DecodeContext, parts?: number): State {
  return stateFromWire(decodeCoreMsgpack(bytes, "state"), ctx, parts);
}

/** Decodes a transaction of a channel with `parts` participants; throws only `DecodeError`. */
export function decodeTransaction(bytes: Uint8Array, ctx: DecodeContext, parts: number): Transaction {
  return transactionFromWire(decodeCoreMsgpack(bytes, "transaction"), ctx, parts);
}

/** Decodes and validates a signed state (signatures are not verified); throws only `DecodeError`. */
export function decodeSignedState(bytes: Uint8Array, ctx: DecodeContext): SignedState {
  return signedStateFromWire(decodeCoreMsgpack(bytes, "signedState"), ctx);
}
