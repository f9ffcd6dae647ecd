import { DecodeError, fromHex } from "@perun-ts/core";
import { describe, expect, it } from "vitest";
import { SimAccount } from "./sim-account.js";
import { SimAddress } from "./sim-address.js";

// anvil/hardhat default key #0 and its well-known Ethereum address.
const ANVIL_KEY_0 = fromHex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
const ANVIL_ADDR_0 = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";

describe("SimAddress", () => {
  it("derives Ethereum addresses from public keys", () => {
    expect(SimAccount.fromSecretKey(ANVIL_KEY_0).address.toString()).toBe(ANVIL_ADDR_0);
  });

  it("round-trips through bytes and hex", () => {
    const a = SimAddress.fromHex(ANVIL_ADDR_0);
    expect(SimAddress.fromBytes(a.bytes()).equals(a)).toBe(true);
    expect(SimAddress.fromHex(a.toString().toUpperCase().replace("0X", "0x")).equals(a)).toBe(true);
    expect(JSON.stringify({ a })).toBe(`{"a":"${ANVIL_ADDR_0}"}`);
  });

  it("returns a copy of its bytes, so callers cannot mutate it", () => {
    const a = SimAddress.fromHex(ANVIL_ADDR_0);
    a.bytes().fill(0);
    expect(a.toString()).toBe(ANVIL_ADDR_0);
  });

  it("orders consistently with equals", () => {
    const lo = SimAddress.fromBytes(new Uint8Array(20).fill(1));
    const hi = SimAddress.fromBytes(new Uint8Array(20).fill(2));
    expect(lo.compare(hi)).toBe(-1);
    expect(hi.compare(lo)).toBe(1);
    expect(lo.compare(SimAddress.fromBytes(new Uint8Array(20).fill(1)))).toBe(0);
    expect(lo.equals(hi)).toBe(false);
    // a foreign Address implementation compares by bytes
    const foreign = { bytes: () => new Uint8Array(20).fill(1), equals: () => false, compare: () => 0 };
    expect(lo.equals(foreign)).toBe(true);
  });

  it("rejects malformed input with DecodeError", () => {
    for (const n of [0, 19, 21, 32, 64])
      expect(() => SimAddress.fromBytes(new Uint8Array(n))).toThrow(DecodeError);
    expect(() => SimAddress.fromBytes("0x00" as unknown as Uint8Array)).toThrow(DecodeError);
    for (const h of ["", "0x12", `0x${"zz".repeat(20)}`, `0x${"00".repeat(21)}`]) {
      expect(() => SimAddress.fromHex(h)).toThrow(DecodeError);
    }
    expect(() => SimAddress.fromPublicKey(new Uint8Array(33))).toThrow(DecodeError);
  });
});
