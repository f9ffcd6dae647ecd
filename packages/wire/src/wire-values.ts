// Validating readers for the plain values msgpack decodes to (arrays, bin, numbers, strings,
// booleans, null). Each failure is a DecodeError whose reason names the field path.
import {
  type Address,
  type App,
  bytesToBigint,
  type DecodeContext,
  DecodeError,
  type Signature,
} from "@perun-ts/core";

export function fail(path: string, reason: string): never {
  throw new DecodeError(`${path}: ${reason}`);
}

function describe(e: unknown): string {
  if (e instanceof DecodeError) return e.reason;
  if (e instanceof Error) return e.message;
  return "unknown error";
}

/** Runs `fn`, turning anything it throws into a `DecodeError` located at `path`. */
export function guard<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new DecodeError(`${path}: ${describe(e)}`, { cause: e });
  }
}

export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (v instanceof Uint8Array) return "bin";
  return typeof v;
}

export function tuple(v: unknown, n: number, path: string): readonly unknown[] {
  if (!Array.isArray(v)) fail(path, `expected an array of ${n} fields, got ${typeName(v)}`);
  if (v.length !== n) fail(path, `expected ${n} fields, got ${v.length}`);
  return v;
}

export function list(v: unknown, min: number, max: number, path: string): readonly unknown[] {
  if (!Array.isArray(v)) fail(path, `expected an array, got ${typeName(v)}`);
  if (v.length < min || v.length > max) fail(path, `expected ${min}..${max} elements, got ${v.length}`);
  return v;
}

/** A bin value, copied (decoded bins are views into the frame). */
export function bin(v: unknown, maxLength: number, path: string): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(path, `expected bin, got ${typeName(v)}`);
  if (v.length > maxLength) fail(path, `${v.length} bytes exceed ${maxLength}`);
  return v.slice();
}

export function fixedBin(v: unknown, len: number, path: string): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(path, `expected bin, got ${typeName(v)}`);
  if (v.length !== len) fail(path, `expected ${len} bytes, got ${v.length}`);
  return v.slice();
}

export function str(v: unknown, maxLength: number, path: string): string {
  if (typeof v !== "string") fail(path, `expected a string, got ${typeName(v)}`);
  if (v.length > maxLength) fail(path, `string of ${v.length} characters exceeds ${maxLength}`);
  return v;
}

/** A msgpack boolean (no truthy coercion: 0, 1 or nil are rejected). */
export function bool(v: unknown, path: string): boolean {
  if (typeof v !== "boolean") fail(path, `expected a boolean, got ${typeName(v)}`);
  return v;
}

/** An unsigned integer encoded as minimal big-endian bin (core's `UintWire`). */
export function uint(v: unknown, maxBytes: number, path: string): bigint {
  if (!(v instanceof Uint8Array)) fail(path, `expected bin, got ${typeName(v)}`);
  if (v.length > maxBytes) fail(path, `integer of ${v.length} bytes exceeds ${maxBytes} bytes`);
  if (v.length > 0 && v[0] === 0) fail(path, "non-canonical integer (leading zero byte)");
  return bytesToBigint(v);
}

/** A small non-negative integer (an index) below `bound`. */
export function index(v: unknown, bound: number, path: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= bound) {
    fail(path, `expected an integer in 0..${bound - 1}, got ${typeName(v)} ${String(v)}`);
  }
  return v;
}

export function address(v: unknown, ctx: DecodeContext, path: string): Address {
  if (!(v instanceof Uint8Array)) fail(path, `expected address bytes, got ${typeName(v)}`);
  const b = v.slice();
  return guard(path, () => ctx.backend.decodeAddress(b));
}

export function app(v: unknown, ctx: DecodeContext, path: string): App {
  if (v === null) return guard(path, () => ctx.apps.resolve(null));
  const def = address(v, ctx, path);
  return guard(path, () => ctx.apps.resolve(def));
}

export function signature(v: unknown, ctx: DecodeContext, path: string): Signature {
  return fixedBin(v, ctx.backend.signatureLength, path);
}

/** int64 as 8 bytes big-endian two's complement. */
export function int64ToWire(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, v);
  return out;
}

export function int64(v: unknown, path: string): bigint {
  const b = fixedBin(v, 8, path);
  return new DataView(b.buffer, b.byteOffset, 8).getBigInt64(0);
}
