import { fromHex, ValidationError } from "@perun-ts/core";
import { describe, expect, it } from "vitest";
import { channelNonce, randomNonceShare } from "./nonce.js";

describe("channelNonce", () => {
  it("is FIPS SHA3-256 of the concatenated shares", () => {
    // SHA3-256 of 64 zero bytes (FIPS 202), keccak-256 would differ.
    const zero = new Uint8Array(32);
    expect(channelNonce(zero, zero)).toBe(
      BigInt("0x070fa1ab6fcc557ed14d42941f1967693048551eb9042a8d0a057afbd75e81e0"),
    );
  });

  it("depends on the order of the shares", () => {
    const a = fromHex("01".repeat(32));
    const b = fromHex("02".repeat(32));
    expect(channelNonce(a, b)).not.toBe(channelNonce(b, a));
  });

  it("rejects shares of the wrong length", () => {
    expect(() => channelNonce(new Uint8Array(31), randomNonceShare())).toThrow(ValidationError);
  });

  it("draws distinct random shares", () => {
    expect(randomNonceShare()).not.toEqual(randomNonceShare());
  });
});
