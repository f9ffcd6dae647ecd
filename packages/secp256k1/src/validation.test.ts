import { describe, expect, it } from "vitest";
import { Secp256k1Error } from "./secp256k1-error.js";
import { CURVE_ORDER, checkSignature, isValidSecretKey, reduceDigest } from "./validation.js";

function be32(n: bigint): Uint8Array {
  return Uint8Array.from(Buffer.from(n.toString(16).padStart(64, "0"), "hex"));
}

function sigOf(r: bigint, s: bigint, v: number): Uint8Array {
  const out = new Uint8Array(65);
  out.set(be32(r), 0);
  out.set(be32(s), 32);
  out[64] = v;
  return out;
}

function reasonOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(Secp256k1Error);
    return `${(e as Secp256k1Error).reason}: ${(e as Error).message}`;
  }
  return "no error";
}

const HALF = CURVE_ORDER >> 1n;

describe("isValidSecretKey", () => {
  it("accepts exactly 32-byte scalars in 1..n-1", () => {
    expect(isValidSecretKey(be32(1n))).toBe(true);
    expect(isValidSecretKey(be32(CURVE_ORDER - 1n))).toBe(true);
    expect(isValidSecretKey(be32(0n))).toBe(false);
    expect(isValidSecretKey(be32(CURVE_ORDER))).toBe(false);
    expect(isValidSecretKey(new Uint8Array(32).fill(0xff))).toBe(false);
    expect(isValidSecretKey(new Uint8Array(31).fill(1))).toBe(false);
    expect(isValidSecretKey(new Uint8Array(33).fill(1))).toBe(false);
    expect(isValidSecretKey(Array.from(be32(5n)))).toBe(false);
  });
});

describe("checkSignature", () => {
  it("accepts r, s in range with low s and v ∈ {0, 1}, returning v", () => {
    expect(checkSignature(sigOf(1n, 1n, 0))).toBe(0);
    expect(checkSignature(sigOf(CURVE_ORDER - 1n, HALF, 1))).toBe(1);
  });

  it("rejects each malformation with a malformed-signature reason naming it", () => {
    expect(reasonOf(() => checkSignature("sig"))).toMatch(/^malformed-signature: .*not a byte array/);
    expect(reasonOf(() => checkSignature(new Uint8Array(64)))).toMatch(
      /^malformed-signature: .*65 bytes, got 64/,
    );
    expect(reasonOf(() => checkSignature(sigOf(0n, 1n, 0)))).toMatch(/r is out of range/);
    expect(reasonOf(() => checkSignature(sigOf(CURVE_ORDER, 1n, 0)))).toMatch(/r is out of range/);
    expect(reasonOf(() => checkSignature(sigOf(1n, 0n, 0)))).toMatch(/s is out of range/);
    expect(reasonOf(() => checkSignature(sigOf(1n, CURVE_ORDER, 0)))).toMatch(/s is out of range/);
    expect(reasonOf(() => checkSignature(sigOf(1n, HALF + 1n, 0)))).toMatch(
      /^malformed-signature: .*upper half/,
    );
    expect(reasonOf(() => checkSignature(sigOf(1n, 1n, 2)))).toMatch(/v must be 0 or 1, got 2/);
    expect(reasonOf(() => checkSignature(sigOf(1n, 1n, 27)))).toMatch(/got 27/);
  });
});

describe("reduceDigest", () => {
  it("returns digests below n unchanged and subtracts n from the others", () => {
    const low = be32(CURVE_ORDER - 1n);
    expect(reduceDigest(low)).toBe(low);
    expect(reduceDigest(be32(CURVE_ORDER))).toEqual(be32(0n));
    expect(reduceDigest(new Uint8Array(32).fill(0xff))).toEqual(be32(2n ** 256n - 1n - CURVE_ORDER));
  });
});
