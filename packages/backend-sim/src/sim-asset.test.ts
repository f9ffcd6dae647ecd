import { DecodeError, MAX_UINT64, ValidationError } from "@perun-ts/core";
import { describe, expect, it } from "vitest";
import { SimAsset } from "./sim-asset.js";

describe("SimAsset", () => {
  it("encodes its id as 8 bytes big-endian", () => {
    expect([...new SimAsset(0x0102n).bytes()]).toEqual([0, 0, 0, 0, 0, 0, 1, 2]);
    expect([...new SimAsset(MAX_UINT64).bytes()]).toEqual(Array(8).fill(255));
  });

  it("round-trips and compares by id", () => {
    for (const id of [0n, 1n, 255n, 1n << 40n, MAX_UINT64]) {
      const a = new SimAsset(id);
      const b = SimAsset.fromBytes(a.bytes());
      expect(b.id).toBe(id);
      expect(b.equals(a)).toBe(true);
      expect(b.equals(new SimAsset(id === 0n ? 1n : 0n))).toBe(false);
    }
    expect(new SimAsset(7n).toString()).toBe("sim-asset:7");
  });

  it("decodes from a view into a larger buffer", () => {
    const buf = new Uint8Array(12);
    buf.set(new SimAsset(99n).bytes(), 4);
    expect(SimAsset.fromBytes(buf.subarray(4)).id).toBe(99n);
  });

  it("rejects bad ids and bad encodings with typed errors", () => {
    expect(() => new SimAsset(-1n)).toThrow(ValidationError);
    expect(() => new SimAsset(MAX_UINT64 + 1n)).toThrow(ValidationError);
    expect(() => new SimAsset(1 as unknown as bigint)).toThrow(ValidationError);
    for (const n of [0, 7, 9, 20]) expect(() => SimAsset.fromBytes(new Uint8Array(n))).toThrow(DecodeError);
  });
});
