// The sim ledger's wire format: JSON lines over TCP. Requests `{id, op, ...}`, answers
// `{id, ok: true, result}` or `{id, ok: false, error}`, cancellations `{op: "cancel", target}`,
// subscription events `{sub, event}`. Core values travel in their canonical encoding (hex), amounts
// and times as decimal strings.
import {
  type DecodeContext,
  DecodeError,
  decodeParams,
  decodeState,
  decodeTransaction,
  encodeParams,
  encodeState,
  encodeTransaction,
  fromHex,
  type Params,
  type State,
  type Transaction,
  toHex,
} from "@perun-ts/core";

export function hex(b: Uint8Array): string {
  return `0x${toHex(b)}`;
}

/** Reads field `k` of a request as a string; `DecodeError` otherwise. */
export function str(r: Record<string, unknown>, k: string): string {
  const v = r[k];
  if (typeof v !== "string") throw new DecodeError(`field "${k}" must be a string`);
  return v;
}

export function bytesField(r: Record<string, unknown>, k: string): Uint8Array {
  try {
    return fromHex(str(r, k));
  } catch (e) {
    throw new DecodeError(`field "${k}" is not hex`, { cause: e });
  }
}

export function uintField(r: Record<string, unknown>, k: string): bigint {
  const s = str(r, k);
  if (!/^\d{1,78}$/.test(s)) throw new DecodeError(`field "${k}" is not an unsigned integer`);
  return BigInt(s);
}

export function intField(r: Record<string, unknown>, k: string): number {
  const v = r[k];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffff) {
    throw new DecodeError(`field "${k}" must be a small non-negative integer`);
  }
  return v;
}

/** Encoded forms of the core values a request carries. */
export const encode = {
  params: (p: Params) => hex(encodeParams(p)),
  state: (s: State) => hex(encodeState(s)),
  tx: (t: Transaction) => hex(encodeTransaction(t)),
};

export const decode = {
  params: (r: Record<string, unknown>, k: string, ctx: DecodeContext) => decodeParams(bytesField(r, k), ctx),
  state: (r: Record<string, unknown>, k: string, ctx: DecodeContext, parts?: number) =>
    decodeState(bytesField(r, k), ctx, parts),
  tx: (r: Record<string, unknown>, k: string, ctx: DecodeContext, parts: number) =>
    decodeTransaction(bytesField(r, k), ctx, parts),
};
